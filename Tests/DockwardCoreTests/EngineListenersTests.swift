@testable import DockwardCore
import XCTest

/// The engine's listeners read from hand-written unit files, drop-ins,
/// environment files and daemon.json texts.
final class EngineListenersTests: XCTestCase {
    static let unitPath = "/lib/systemd/system/docker.service"
    static let dropInPath = "/etc/systemd/system/docker.service.d/tcp.conf"

    /// Debian's packaged unit, cut to what matters.
    static let packagedUnit = """
        [Unit]
        Description=Docker Application Container Engine

        [Service]
        Type=notify
        # the default is not to use systemd for cgroups because the delegate issues still
        ExecStart=/usr/bin/dockerd -H fd:// --containerd=/run/containerd/containerd.sock
        ExecReload=/bin/kill -s HUP $MAINPID

        [Install]
        WantedBy=multi-user.target
        """

    func report(dropIn: String? = nil, unit: String = packagedUnit, environmentFiles: [ConfigText] = [],
                daemonJSON: String? = nil) -> EngineListeners.Report {
        var files = [ConfigText(path: Self.unitPath, text: unit)]
        if let dropIn { files.append(ConfigText(path: Self.dropInPath, text: dropIn)) }
        return EngineListeners.report(unit: EngineUnit(files: files), environmentFiles: environmentFiles,
                                      daemonJSON: daemonJSON.map { ConfigText(path: "/etc/docker/daemon.json", text: $0) })
    }

    func findings(_ dropIn: String) -> [EngineListenerFinding] { report(dropIn: dropIn).findings }

    func testThePackagedUnitAloneIsSilent() {
        XCTAssertEqual(report().findings, [])
    }

    func testDropInThatResetsExecStartAndAddsTCP() {
        let found = findings("""
            [Service]
            ExecStart=
            ExecStart=/usr/bin/dockerd -H fd:// -H tcp://0.0.0.0:2375
            """)
        XCTAssertEqual(found, [EngineListenerFinding(address: "tcp://0.0.0.0:2375", tls: .none, isLoopback: false,
                                                     place: ConfigPlace(path: Self.dropInPath, line: 3))])
    }

    func testEveryFormOfTheHostFlag() {
        let forms: [(String, String)] = [
            ("-H tcp://0.0.0.0:2375", "tcp://0.0.0.0:2375"),
            ("-Htcp://10.0.0.5:2375", "tcp://10.0.0.5:2375"),
            ("-H=tcp://10.0.0.5:2375", "tcp://10.0.0.5:2375"),
            ("--host tcp://10.0.0.5:2375", "tcp://10.0.0.5:2375"),
            ("--host=tcp://10.0.0.5:2375", "tcp://10.0.0.5:2375"),
            ("-DH tcp://10.0.0.5:2375", "tcp://10.0.0.5:2375"),
            ("-H \"tcp://[::]:2375\"", "tcp://[::]:2375"),
            ("-H 0.0.0.0:2375", "tcp://0.0.0.0:2375"),
            ("-H tcp://0.0.0.0", "tcp://0.0.0.0:2375"),
        ]
        for (flag, address) in forms {
            let found = findings("[Service]\nExecStart=\nExecStart=/usr/bin/dockerd \(flag)\n")
            XCTAssertEqual(found.map(\.address), [address], flag)
            XCTAssertEqual(found.first?.isLoopback, false, flag)
        }
    }

    func testLoopbackListenersAreReportedAsLoopback() {
        for (flag, address) in [("-H tcp://127.0.0.1:2375", "tcp://127.0.0.1:2375"), ("-H tcp://localhost:2375", "tcp://localhost:2375"),
                                ("-H tcp://[::1]:2375", "tcp://[::1]:2375"),
                                // dockerd fills an empty host with localhost.
                                ("-H tcp://:2375", "tcp://localhost:2375")] {
            let found = findings("[Service]\nExecStart=\nExecStart=/usr/bin/dockerd \(flag)\n")
            XCTAssertEqual(found.map(\.address), [address], flag)
            XCTAssertEqual(found.first?.isLoopback, true, flag)
        }
    }

    func testLookalikesAndCommentsStaySilent() {
        for dropIn in [
            "[Service]\nExecStart=\nExecStart=/usr/bin/dockerd --host=unix:///x\n",
            "[Service]\nExecStart=\nExecStart=/usr/bin/dockerd -H fd://\n",
            "[Service]\nExecStart=\nExecStart=/usr/bin/dockerd -H /var/run/docker.sock\n",
            "[Service]\nExecStart=\nExecStart=/usr/bin/dockerd -H npipe:////./pipe/docker_engine\n",
            "[Service]\n#ExecStart=/usr/bin/dockerd -H tcp://0.0.0.0:2375\n",
            "[Service]\n; ExecStart=/usr/bin/dockerd -H tcp://0.0.0.0:2375\n",
            "[Unit]\nExecStart=/usr/bin/dockerd -H tcp://0.0.0.0:2375\n",
            "[Service]\nExecStartPost=/usr/bin/dockerd -H tcp://0.0.0.0:2375\n",
            "[Service]\nExecStart=\nExecStart=/usr/bin/dockerd --hostname-lookalike tcp://0.0.0.0:2375\n",
            "[Service]\nExecStart=\nExecStart=/usr/bin/other-daemon -H tcp://0.0.0.0:2375\n",
        ] {
            XCTAssertEqual(findings(dropIn), [], dropIn)
        }
    }

    func testTLSStates() {
        func tls(_ flags: String) -> [EngineTLS] {
            findings("[Service]\nExecStart=\nExecStart=/usr/bin/dockerd -H tcp://0.0.0.0:2376 \(flags)\n").map(\.tls)
        }
        XCTAssertEqual(tls("--tlsverify --tlscacert=/ca.pem"), [], "verified clients only: silent")
        XCTAssertEqual(tls("--tlsverify=true"), [])
        XCTAssertEqual(tls("--tls=false --tlsverify"), [], "tlsverify implies tls")
        XCTAssertEqual(tls("--tls"), [.noVerify])
        XCTAssertEqual(tls("--tls=true --tlsverify=false"), [.noVerify])
        XCTAssertEqual(tls("--tlsverify=false"), [.none])
        XCTAssertEqual(tls("--tls=false"), [.none])
    }

    func testContinuationLinesQuotingAndPlaceOfTheFlag() {
        let found = findings("""
            [Service]
            ExecStart=
            ExecStart=/usr/bin/dockerd \\
              -H fd:// \\
              # a comment inside the continuation is skipped
              --host "tcp://0.0.0.0:2375"
            """)
        XCTAssertEqual(found.map(\.address), ["tcp://0.0.0.0:2375"])
        XCTAssertEqual(found.first?.place.description, Self.dropInPath + ":3", "the line where the setting starts")
    }

    func testExecStartWithoutResetAddsASecondCommandAndAnExecPrefixIsIgnored() {
        let found = findings("[Service]\nExecStart=-/usr/bin/dockerd -H tcp://0.0.0.0:2375\n")
        XCTAssertEqual(found.map(\.address), ["tcp://0.0.0.0:2375"])
        let reset = report(dropIn: "[Service]\nExecStart=\n", unit: Self.packagedUnit + "\n[Service]\nExecStart=/usr/bin/dockerd -H tcp://1.2.3.4:2375\n")
        XCTAssertEqual(reset.findings, [], "a later drop-in's reset drops the unit's commands")
    }

    func testDebianDefaultFileThroughDockerOpts() {
        let unit = """
            [Service]
            EnvironmentFile=-/etc/default/docker
            ExecStart=/usr/bin/dockerd -H fd:// $DOCKER_OPTS
            """
        let defaults = ConfigText(path: "/etc/default/docker", text: """
            # Use DOCKER_OPTS to modify the daemon startup options.
            #DOCKER_OPTS="--dns 8.8.8.8"
            DOCKER_OPTS="-H tcp://0.0.0.0:2375 --dns 8.8.8.8"
            """)
        let parsed = EngineUnit(files: [ConfigText(path: Self.unitPath, text: unit)])
        XCTAssertEqual(parsed.environmentFiles, ["/etc/default/docker"])
        let found = EngineListeners.report(unit: parsed, environmentFiles: [defaults], daemonJSON: nil).findings
        XCTAssertEqual(found.map(\.address), ["tcp://0.0.0.0:2375"])
        XCTAssertEqual(found.first?.place.description, "/etc/default/docker:3")
        XCTAssertEqual(EngineListeners.report(unit: parsed, environmentFiles: [], daemonJSON: nil).findings, [],
                       "the variable unset: nothing")
    }

    func testEnvironmentSettingAndTLSVerifyFromTheEnvironment() {
        let found = findings("[Service]\nEnvironment=\"OPTS=-H tcp://0.0.0.0:2375\"\nExecStart=\nExecStart=/usr/bin/dockerd ${OPTS}\n")
        XCTAssertEqual(found.map(\.place.line), [2])
        XCTAssertEqual(findings("[Service]\nEnvironment=DOCKER_TLS_VERIFY=1\nExecStart=\nExecStart=/usr/bin/dockerd -H tcp://0.0.0.0:2376\n"),
                       [], "dockerd defaults --tlsverify from DOCKER_TLS_VERIFY")
    }

    func testDaemonJSONHostsAndTLS() {
        let json = """
            {
              "log-driver": "journald",
              "hosts": ["unix:///var/run/docker.sock", "tcp://0.0.0.0:2375"]
            }
            """
        let found = report(daemonJSON: json).findings
        XCTAssertEqual(found, [EngineListenerFinding(address: "tcp://0.0.0.0:2375", tls: .none, isLoopback: false,
                                                     place: ConfigPlace(path: "/etc/docker/daemon.json", line: 3))])
        XCTAssertEqual(report(daemonJSON: #"{"hosts": ["tcp://0.0.0.0:2376"], "tls": true}"#).findings.map(\.tls), [.noVerify])
        XCTAssertEqual(report(daemonJSON: #"{"hosts": ["tcp://0.0.0.0:2376"], "tlsverify": true}"#).findings, [])
        XCTAssertEqual(report(daemonJSON: #"{"hosts": ["fd://", "unix:///run/docker.sock"]}"#).findings, [])
        let flagsAndJSON = report(dropIn: "[Service]\nExecStart=\nExecStart=/usr/bin/dockerd --tlsverify\n",
                                  daemonJSON: #"{"hosts": ["tcp://0.0.0.0:2376"]}"#)
        XCTAssertEqual(flagsAndJSON.findings, [], "tlsverify on the command line covers the hosts of daemon.json")
    }

    func testMalformedDaemonJSONIsReportedNotFatal() {
        for text in ["{\"hosts\": [", "[1, 2]", "", "\u{0}\u{1}"] {
            let r = report(daemonJSON: text)
            XCTAssertEqual(r.findings, [])
            XCTAssertEqual(r.malformed.map(\.path), ["/etc/docker/daemon.json"], text)
        }
    }

    func testConfigFileFlagMovesDaemonJSON() {
        let unit = EngineUnit(files: [ConfigText(path: Self.unitPath,
                                                 text: "[Service]\nExecStart=/usr/bin/dockerd --config-file=/srv/docker.json\n")])
        XCTAssertEqual(EngineListeners.daemonJSONPath(unit: unit, environmentFiles: []), "/srv/docker.json")
        XCTAssertEqual(EngineListeners.daemonJSONPath(unit: EngineUnit(), environmentFiles: []), "/etc/docker/daemon.json")
    }

    func testEntryTextNamesAddressTLSPlaceAndFix() {
        let finding = EngineListenerFinding(address: "tcp://0.0.0.0:2375", tls: .none, isLoopback: false,
                                            place: ConfigPlace(path: Self.dropInPath, line: 3))
        let entry = Finding.engineTCPExposed(finding, unreadable: []).entry
        XCTAssertEqual(entry.kind, .engineTCPExposed)
        XCTAssertEqual(entry.priority, .crit)
        XCTAssertTrue(entry.message.contains("tcp://0.0.0.0:2375 without TLS"), entry.message)
        XCTAssertTrue(entry.message.contains("set at \(Self.dropInPath):3"), entry.message)
        XCTAssertTrue(entry.message.contains("--tlsverify with client certificates"), entry.message)
        XCTAssertEqual(entry.fields.map(\.name), ["ENGINE_LISTEN", "ENGINE_TLS", "ENGINE_LOOPBACK", "ENGINE_CONFIG"])
        XCTAssertEqual(entry.fields.map(\.value), ["tcp://0.0.0.0:2375", "none", "false", Self.dropInPath + ":3"])

        var loopback = finding
        loopback.address = "tcp://127.0.0.1:2375"
        loopback.isLoopback = true
        loopback.tls = .noVerify
        let second = Finding.engineTCPExposed(loopback, unreadable: ["/etc/docker/daemon.json"]).entry
        XCTAssertTrue(second.message.contains("loopback only"), second.message)
        XCTAssertTrue(second.message.contains("any client is let in"), second.message)
        XCTAssertTrue(second.message.contains("Not read"), second.message)
        XCTAssertEqual(second.fields.last?.name, "ENGINE_CONFIG_UNREADABLE")
    }
}
