/// One message of the engine's `/events` stream, with the fields dockward uses.
public struct EngineEvent: Equatable, Sendable {
    /// `Type` (legacy engines: absent, then "container" is assumed when `id` is set).
    public var type: String
    /// `Action` (legacy: `status`).
    public var action: String
    /// `Actor.ID` (legacy: `id`).
    public var actorID: String
    /// `Actor.Attributes` (name, image, labels).
    public var attributes: [String: String]
    /// `timeNano` (legacy: `time` in seconds, scaled).
    public var timeNano: Int64

    public init(type: String, action: String, actorID: String, attributes: [String: String], timeNano: Int64) {
        self.type = type
        self.action = action
        self.actorID = actorID
        self.attributes = attributes
        self.timeNano = timeNano
    }
}
