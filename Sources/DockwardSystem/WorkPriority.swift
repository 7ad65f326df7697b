/// The priority of every task dockward makes (engine calls, Alertmanager
/// POSTs). A task made without one inherits the creating thread's, and on
/// Linux the main thread's is user-initiated: libdispatch then starts
/// workers of that class and renices each to nice -2, which an
/// unprivileged service may not take (each refusal is a "Failed to set
/// thread priority for worker thread" line in the journal). At the default
/// class a worker asks for nice 0, which the packaged unit (Nice=-4) always
/// grants.
public enum WorkPriority {
    public static let tasks = TaskPriority.medium
}
