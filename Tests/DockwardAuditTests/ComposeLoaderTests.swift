@testable import DockwardAudit
import Foundation
import XCTest

/// Compose files written to a temp folder and loaded as the CLI would.
final class ComposeLoaderTests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "dockward-compose-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir + "/sub", withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    func write(_ name: String, _ text: String) throws -> String {
        let path = dir + "/" + name
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func load(_ files: [String], env: [String: String] = ["HOME": "/home/op"], profiles: [String] = []) throws -> ComposeProject {
        try ComposeLoader(environment: env, currentDirectory: dir).load(files: files)
    }

    func testShortSyntaxForms() throws {
        let f = try write("a.yml", """
        services:
          web:
            image: busybox
            volumes:
              - /var/run/docker.sock:/var/run/docker.sock
              - ./data:/data:ro
              - ../up:/up
              - ~/x:/x:rw,z
              - ~:/home
              - named:/named
              - /anon
              - .:/here
        volumes:
          named: {}
        """)
        let web = try XCTUnwrap(try load(["a.yml"]).service("web"))
        let got = web.volumes.map { "\($0.type.rawValue) \($0.source ?? "-") \($0.target) \($0.readOnly ? "ro" : "rw") \($0.location.line)" }
        let parent = (dir as NSString).deletingLastPathComponent
        XCTAssertEqual(got, [
            "bind /var/run/docker.sock /var/run/docker.sock rw 5",
            "bind \(dir)/data /data ro 6",
            "bind \(parent)/up /up rw 7",
            "bind /home/op/x /x rw 8",
            "bind /home/op /home rw 9",
            "volume named /named rw 10",
            "volume - /anon rw 11",
            "bind \(dir) /here rw 12",
        ])
        XCTAssertEqual(f, dir + "/a.yml")
    }

    func testLongSyntaxAndTopLevelVolumes() throws {
        _ = try write("a.yml", """
        services:
          web:
            volumes:
              - type: bind
                source: ./sub
                target: /sub
                read_only: true
              - type: volume
                source: runvol
                target: /r
              - type: tmpfs
                target: /t
              - type: volume
                target: /anon
          other:
            volumes: [ext:/e, extnamed:/n, renamed:/r]
        volumes:
          runvol:
            driver_opts:
              type: none
              o: bind
              device: /run
          ext:
            external: true
          extnamed:
            external:
              name: real-ext
          renamed:
            name: fixed
          unused: {}
        """)
        let project = try load(["a.yml"])
        // As Compose v2's config, a volume no service mounts is left out.
        XCTAssertNil(project.volumes["unused"])
        let v = try XCTUnwrap(project.service("web")).volumes
        XCTAssertEqual(v.map(\.type), [.bind, .volume, .tmpfs, .volume])
        XCTAssertEqual(v[0].source, dir + "/sub")
        XCTAssertTrue(v[0].readOnly)
        XCTAssertEqual(v[0].location.line, 4)
        XCTAssertNil(v[3].source)
        let run = try XCTUnwrap(project.volumes["runvol"])
        XCTAssertEqual(run.driverOptions, ["type": "none", "o": "bind", "device": "/run"])
        XCTAssertEqual(run.engineName, "\(ComposeLoader.normalizeProjectName((dir as NSString).lastPathComponent))_runvol")
        XCTAssertEqual(project.volumes["ext"]?.engineName, "ext")
        XCTAssertEqual(project.volumes["ext"]?.external, true)
        XCTAssertEqual(project.volumes["extnamed"]?.engineName, "real-ext")
        XCTAssertEqual(project.volumes["renamed"]?.engineName, "fixed")
    }

    func testHostControlKeysAndLimits() throws {
        _ = try write("a.yml", """
        services:
          tool:
            privileged: true
            pid: host
            cap_add: [SYS_PTRACE, NET_ADMIN]
            devices:
              - /dev/sda:/dev/xvda:rwm
              - /dev/fuse
            pids_limit: 100
            volumes_from:
              - web
              - service:db:ro
              - container:legacy:ro
          capped:
            deploy:
              resources:
                limits:
                  pids: 50
          quoted:
            privileged: "yes"
            pids_limit: "-1"
        """)
        let p = try load(["a.yml"])
        let tool = try XCTUnwrap(p.service("tool"))
        XCTAssertEqual(tool.privileged?.value, true)
        XCTAssertEqual(tool.privileged?.location.line, 3)
        XCTAssertEqual(tool.pid?.value, "host")
        XCTAssertEqual(tool.capAdd.map(\.value), ["SYS_PTRACE", "NET_ADMIN"])
        XCTAssertEqual(tool.devices.map { "\($0.hostPath)>\($0.containerPath):\($0.permissions)" },
                       ["/dev/sda>/dev/xvda:rwm", "/dev/fuse>/dev/fuse:rwm"])
        XCTAssertEqual(tool.ownPidsLimit?.value, 100)
        XCTAssertEqual(tool.volumesFrom.map(\.source), [.service("web"), .service("db"), .container("legacy")])
        XCTAssertEqual(tool.volumesFrom.map(\.readOnly), [false, true, true])
        XCTAssertEqual(p.service("capped")?.ownPidsLimit?.value, 50)
        XCTAssertEqual(p.service("capped")?.ownPidsLimit?.location.line, 18)
        XCTAssertEqual(p.service("quoted")?.privileged?.value, true)
        XCTAssertEqual(p.service("quoted")?.ownPidsLimit?.value, -1)
    }

    func testInterpolationFromEnvironmentOverDotEnv() throws {
        _ = try write(".env", "SOCK=/var/run/docker.sock\nMODE=ro\nFROM_FILE=file\n")
        _ = try write("a.yml", """
        services:
          web:
            image: ${IMAGE:-busybox}
            privileged: ${PRIV-false}
            volumes:
              - ${SOCK}:/s:${MODE}
              - $$HOME:/literal
        """)
        let p = try load(["a.yml"], env: ["HOME": "/home/op", "MODE": "rw", "PRIV": "true"])
        let web = try XCTUnwrap(p.service("web"))
        XCTAssertEqual(web.image, "busybox")
        XCTAssertEqual(web.privileged?.value, true)
        XCTAssertEqual(web.volumes.map { "\($0.source ?? "") \($0.target) \($0.readOnly)" },
                       ["/var/run/docker.sock /s false", "$HOME /literal false"])
        // `$HOME` after $$ is a named volume called "$HOME": Compose says the same.
        XCTAssertEqual(web.volumes[1].type, .volume)
    }

    func testRequiredVariableFailsTheFileWithItsLine() throws {
        _ = try write("a.yml", """
        services:
          web:
            environment:
              TOKEN: ${TOKEN:?set TOKEN first}
        """)
        XCTAssertThrowsError(try load(["a.yml"])) {
            let e = $0 as? ComposeError
            XCTAssertEqual(e?.line, 4)
            XCTAssertEqual(e?.file, "a.yml")
            XCTAssertTrue(e?.message.contains("set TOKEN first") ?? false, "\(String(describing: e))")
        }
    }

    func testMergeOrder() throws {
        _ = try write("base.yml", """
        services:
          web:
            image: one
            privileged: false
            cap_add: [NET_ADMIN]
            volumes:
              - ./a:/data
              - /srv:/srv
            devices: ["/dev/null:/dev/n"]
            labels: {a: "1", b: "1"}
            pids_limit: 10
        """)
        _ = try write("over.yml", """
        services:
          web:
            image: two
            privileged: true
            cap_add: [SYS_PTRACE, NET_ADMIN]
            volumes:
              - /var/run/docker.sock:/data
            devices: ["/dev/zero:/dev/n"]
            labels: {b: "2"}
          extra:
            image: three
        """)
        let p = try load(["base.yml", "over.yml"])
        XCTAssertEqual(p.services.map(\.name), ["web", "extra"])
        let web = try XCTUnwrap(p.service("web"))
        XCTAssertEqual(web.image, "two")
        XCTAssertEqual(web.privileged?.value, true)
        XCTAssertEqual(web.privileged?.location, SourceLocation(file: "over.yml", line: 4))
        XCTAssertEqual(web.capAdd.map(\.value), ["NET_ADMIN", "SYS_PTRACE"])
        XCTAssertEqual(web.volumes.map { "\($0.source ?? "") \($0.target) \($0.location.file)" },
                       ["/var/run/docker.sock /data over.yml", "/srv /srv base.yml"])
        XCTAssertEqual(web.devices.map(\.hostPath), ["/dev/zero"])
        XCTAssertEqual(web.labels, ["a": "1", "b": "2"])
        XCTAssertEqual(web.pidsLimit?.value, 10)
        // The other order: the base file's values win.
        let q = try load(["over.yml", "base.yml"])
        XCTAssertEqual(q.service("web")?.image, "one")
        XCTAssertEqual(q.service("web")?.privileged?.value, false)
        XCTAssertEqual(q.service("web")?.volumes.first?.source, dir + "/a")
    }

    /// Compose v2 cleans a mount's target (`/data/` is `/data`), so an
    /// override file written either way replaces the mount.
    func testTargetsAreCleanedAndMergedSo() throws {
        _ = try write("base.yml", "services:\n  web:\n    image: one\n    volumes: [\"/srv:/data/\", \"/x:/p/../q//r/\"]\n")
        _ = try write("over.yml", """
        services:
          web:
            volumes:
              - type: bind
                source: /var/run/docker.sock
                target: /data/./
        """)
        let web = try XCTUnwrap(try load(["base.yml", "over.yml"]).service("web"))
        XCTAssertEqual(web.volumes.map { "\($0.source ?? "-") \($0.target)" }, ["/var/run/docker.sock /data", "/x /q/r"])
    }

    func testOverrideFilePathsResolveAgainstTheProjectFolder() throws {
        _ = try write("base.yml", "services:\n  web:\n    image: one\n")
        _ = try write("sub/over.yml", "services:\n  web:\n    volumes: [./x:/x]\n")
        let p = try load(["base.yml", "sub/over.yml"])
        XCTAssertEqual(p.service("web")?.volumes.first?.source, dir + "/x")
    }

    func testExtendsSameFileAndOtherFile() throws {
        _ = try write("sub/common.yml", """
        services:
          base:
            image: common
            volumes: [./cfg:/cfg]
            cap_add: [SYS_ADMIN]
        """)
        _ = try write("a.yml", """
        services:
          local:
            image: local
            pid: host
          web:
            extends: local
            privileged: true
          ops:
            extends:
              file: sub/common.yml
              service: base
            pid: host
            volumes: [/run:/run]
        """)
        let p = try load(["a.yml"])
        let web = try XCTUnwrap(p.service("web"))
        XCTAssertEqual(web.image, "local")
        XCTAssertEqual(web.pid?.value, "host")
        XCTAssertEqual(web.privileged?.value, true)
        XCTAssertNil(web.extends)
        let ops = try XCTUnwrap(p.service("ops"))
        XCTAssertEqual(ops.image, "common")
        XCTAssertEqual(ops.capAdd.map(\.value), ["SYS_ADMIN"])
        // What the extended file brings is resolved against its own folder.
        XCTAssertEqual(ops.volumes.map(\.source), [dir + "/sub/cfg", "/run"])
        XCTAssertEqual(ops.location.line, 8)
    }

    /// Compose v2 resolves extends in each file before the files are
    /// merged: an override file's change to a service does not reach the
    /// service that extends it in the first file.
    func testExtendsIsResolvedInEachFileBeforeTheMerge() throws {
        _ = try write("base.yml", """
        services:
          tool: {image: t, cap_add: [CHOWN]}
          tool-debug: {extends: tool, pid: host}
        """)
        _ = try write("over.yml", "services:\n  tool:\n    cap_add: [NET_RAW]\n    privileged: true\n")
        let p = try load(["base.yml", "over.yml"])
        XCTAssertEqual(p.service("tool")?.capAdd.map(\.value), ["CHOWN", "NET_RAW"])
        XCTAssertEqual(p.service("tool-debug")?.capAdd.map(\.value), ["CHOWN"])
        XCTAssertNil(p.service("tool-debug")?.privileged)
        XCTAssertEqual(p.service("tool-debug")?.pid?.value, "host")
    }

    func testCircularExtendsIsRefused() throws {
        _ = try write("a.yml", "services:\n  a:\n    extends: b\n  b:\n    extends: a\n")
        XCTAssertThrowsError(try load(["a.yml"])) { XCTAssertTrue("\($0)".contains("circular extends"), "\($0)") }
    }

    func testProfiles() throws {
        _ = try write("a.yml", """
        services:
          always: {image: a}
          debug: {image: b, profiles: [debug]}
          both: {image: c, profiles: [debug, ops]}
        """)
        let p = try load(["a.yml"])
        XCTAssertEqual(p.services.filter { $0.isActive(profiles: []) }.map(\.name), ["always"])
        XCTAssertEqual(p.services.filter { $0.isActive(profiles: ["ops"]) }.map(\.name), ["always", "both"])
        XCTAssertEqual(p.services.filter { $0.isActive(profiles: ["debug"]) }.map(\.name), ["always", "debug", "both"])
    }

    /// COMPOSE_PROFILES from the environment, else the project's .env.
    func testComposeProfilesFromEnvironmentOrDotEnv() throws {
        _ = try write("a.yml", "services:\n  web: {image: a, profiles: [debug]}\n")
        XCTAssertEqual(try load(["a.yml"]).environmentProfiles, [])
        _ = try write(".env", "COMPOSE_PROFILES=debug, ops\n")
        XCTAssertEqual(try load(["a.yml"]).environmentProfiles, ["debug", "ops"])
        XCTAssertEqual(try load(["a.yml"], env: ["COMPOSE_PROFILES": "tools"]).environmentProfiles, ["tools"])
    }

    func testProjectName() throws {
        _ = try write("a.yml", "services:\n  web: {image: a}\n")
        // -p and COMPOSE_PROJECT_NAME must be valid names already (Compose v2 refuses others).
        XCTAssertThrowsError(try ComposeLoader(environment: ["COMPOSE_PROJECT_NAME": "My.App"], currentDirectory: dir)
            .load(files: ["a.yml"])) { XCTAssertTrue("\($0)".contains("invalid project name"), "\($0)") }
        XCTAssertEqual(try ComposeLoader(environment: ["COMPOSE_PROJECT_NAME": "my-app"], currentDirectory: dir)
            .load(files: ["a.yml"]).name, "my-app")
        XCTAssertEqual(try ComposeLoader(environment: [:], projectName: "given", currentDirectory: dir)
            .load(files: ["a.yml"]).name, "given")
        // The folder's name is made one.
        let folderName = ComposeLoader.normalizeProjectName((dir as NSString).lastPathComponent)
        XCTAssertEqual(try load(["a.yml"]).name, folderName)
    }

    /// Compose v2: top-level `name:` (made a valid name), under -p and
    /// COMPOSE_PROJECT_NAME (also from .env); every value may use
    /// ${COMPOSE_PROJECT_NAME}.
    func testNameKeyAndComposeProjectNameInValues() throws {
        _ = try write("a.yml", """
        name: ${STACK:-My_Stack}
        services:
          web:
            image: a
            volumes: ["/srv/${COMPOSE_PROJECT_NAME}:/data", "cache:/cache"]
        volumes:
          cache: {}
        """)
        let p = try load(["a.yml"])
        XCTAssertEqual(p.name, "my_stack")
        XCTAssertEqual(p.service("web")?.volumes.first?.source, "/srv/my_stack")
        XCTAssertEqual(p.volumes["cache"]?.engineName, "my_stack_cache")
        _ = try write(".env", "COMPOSE_PROJECT_NAME=from-env\n")
        let q = try load(["a.yml"])
        XCTAssertEqual(q.name, "from-env")
        XCTAssertEqual(q.service("web")?.volumes.first?.source, "/srv/from-env")
        XCTAssertEqual(try ComposeLoader(environment: [:], projectName: "cli", currentDirectory: dir).load(files: ["a.yml"]).name, "cli")
    }

    /// A bcrypt hash in a label: Compose 1.29 refused the file, Compose v2
    /// keeps a `$` that cannot start a variable as written.
    func testBcryptLabelIsReadAsWritten() throws {
        _ = try write("a.yml", """
        services:
          proxy:
            image: traefik
            labels:
              - "traefik.http.middlewares.auth.basicauth.users=admin:$2a$12$.8xQ3l2H4v/9a0ZxwS8gQO"
            volumes: ["/var/run/docker.sock:/var/run/docker.sock:ro"]
        """)
        let proxy = try XCTUnwrap(try load(["a.yml"]).service("proxy"))
        XCTAssertEqual(proxy.labels["traefik.http.middlewares.auth.basicauth.users"], "admin:$2a$12$.8xQ3l2H4v/9a0ZxwS8gQO")
        XCTAssertEqual(proxy.volumes.first?.readOnly, true)
    }

    /// include: another project, read in its own folder, with its own .env
    /// under the including project's variables.
    func testInclude() throws {
        try FileManager.default.createDirectory(atPath: dir + "/sub/inner", withIntermediateDirectories: true)
        _ = try write("sub/compose.yml", """
        services:
          agent:
            image: agent
            volumes: ["${SOCK_DIR}/docker.sock:/s:ro", "./conf:/conf", "${SHARED}:/shared"]
        """)
        _ = try write("sub/.env", "SOCK_DIR=/run\nSHARED=from-include\n")
        _ = try write(".env", "SHARED=/from-parent\n")
        _ = try write("a.yml", """
        include:
          - sub/compose.yml
          - path: [sub/inner/one.yml]
            env_file: sub/inner/vars.env
        services:
          app: {image: app}
        """)
        _ = try write("sub/inner/one.yml", "services:\n  one:\n    image: one\n    pid: ${PID_MODE}\n")
        _ = try write("sub/inner/vars.env", "PID_MODE=host\n")
        let p = try load(["a.yml"])
        XCTAssertEqual(p.services.map(\.name), ["app", "agent", "one"])
        XCTAssertEqual(p.service("agent")?.volumes.map { $0.source ?? "-" }, ["/run/docker.sock", dir + "/sub/conf", "/from-parent"])
        XCTAssertEqual(p.service("one")?.pid?.value, "host")
        _ = try write("b.yml", "include: [sub/compose.yml]\nservices:\n  agent: {image: mine}\n")
        XCTAssertThrowsError(try load(["b.yml"])) { XCTAssertTrue("\($0)".contains("conflicts"), "\($0)") }
    }

    /// Compose v2 extends a service that has volumes_from (1.29 refused it),
    /// reads devices in long syntax, and YAML merge keys.
    func testExtendsWithVolumesFromLongDevicesAndMergeKeys() throws {
        _ = try write("a.yml", """
        x-base: &base
          image: base
          pids_limit: 64
          volumes: [/etc/localtime:/etc/localtime:ro]
        services:
          holder: {image: h, volumes: ["/var/run/docker.sock:/var/run/docker.sock"]}
          borrower: {image: b, volumes_from: ["holder:ro"]}
          child: {extends: borrower, pid: host}
          gpu:
            <<: *base
            volumes: [/dev/shm:/dev/shm]
            devices:
              - source: /dev/dri
                target: /dev/dri
              - source: /dev/nvidia0
                target: /dev/nv
                permissions: r
        """)
        let p = try load(["a.yml"])
        let child = try XCTUnwrap(p.service("child"))
        XCTAssertEqual(child.volumesFrom.map(\.written), ["holder:ro"])
        let gpu = try XCTUnwrap(p.service("gpu"))
        XCTAssertEqual(gpu.image, "base")
        XCTAssertEqual(gpu.pidsLimit?.value, 64)
        // The service's own volumes replace the merged ones.
        XCTAssertEqual(gpu.volumes.map(\.target), ["/dev/shm"])
        XCTAssertEqual(gpu.devices.map { "\($0.hostPath):\($0.containerPath):\($0.permissions)" },
                       ["/dev/dri:/dev/dri:rwm", "/dev/nvidia0:/dev/nv:r"])
    }

    func testBadFilesSayWhere() throws {
        _ = try write("bad.yml", "services:\n  web:\n    volumes: [\"a:b:c:d\"]\n")
        XCTAssertThrowsError(try load(["bad.yml"])) { XCTAssertEqual(($0 as? ComposeError)?.line, 3) }
        _ = try write("notyaml.yml", "services:\n  web: [\n")
        XCTAssertThrowsError(try load(["notyaml.yml"])) { XCTAssertTrue("\($0)".contains("not valid YAML"), "\($0)") }
        XCTAssertThrowsError(try load(["missing.yml"])) { XCTAssertTrue("\($0)".contains("cannot read"), "\($0)") }
    }
}
