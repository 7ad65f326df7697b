import DockwardCore
import XCTest

/// The `alertmanager:` section: defaults (off), strict parsing of each key,
/// the checks across its keys, reload lines.
extension ConfigLoaderTests {
    /// Each issue as `line key: message`, the way the assertions read.
    func located(_ yaml: String, file: StaticString = #filePath, line: UInt = #line) -> [String] {
        issues(yaml, file: file, line: line).map { "\($0.line) \($0.key): \($0.message)" }
    }

    func testAlertmanagerDefaultsAreOff() throws {
        let am = DockwardConfig().alertmanager
        XCTAssertEqual(am.urls, [])
        XCTAssertFalse(am.isEnabled)
        XCTAssertEqual(am.pathPrefix, "/")
        XCTAssertEqual(am.resendInterval, .minutes(1))
        XCTAssertEqual(am.timeout, .seconds(10))
        XCTAssertEqual(am.labels, [:])
        XCTAssertEqual(am.tls, AlertmanagerConfig.TLS())
        XCTAssertNil(am.tls.caFile)
        XCTAssertNil(am.tls.certFile)
        XCTAssertNil(am.tls.keyFile)
        XCTAssertNil(am.tls.serverName)
        XCTAssertNil(am.basicAuthUsername)
        XCTAssertNil(am.basicAuthPasswordFile)
        XCTAssertNil(am.bearerTokenFile)
        XCTAssertEqual(am.queueCapacity, 10_000)
        XCTAssertEqual(am, AlertmanagerConfig())
        XCTAssertFalse(DockwardConfig().summary.contains("alertmanager"), DockwardConfig().summary)
        XCTAssertEqual(try parse("alertmanager:\n"), DockwardConfig(), "a section with every key commented out is off")
        XCTAssertEqual(try parse("alertmanager: {}\n"), DockwardConfig())
        XCTAssertEqual(try parse("alertmanager:\n  urls: []\n  labels: {}\n"), DockwardConfig())
    }

    func testEveryAlertmanagerKeyIsRead() throws {
        let c = try parse("""
        alertmanager:
          urls:
            - https://am-1.example:9093
            - https://am-2.example:9093/
          path_prefix: /alertmanager
          resend_interval: 2m
          timeout: 30s
          labels:
            cluster: prod-eu-1
            env: production
          tls:
            ca_file: /etc/dockward/am-ca.pem
            cert_file: /etc/dockward/am-client.pem
            key_file: /etc/dockward/am-client.key
            server_name: alertmanager.internal
          basic_auth:
            username: dockward
            password_file: /etc/dockward/am-password
          queue_capacity: 500
        """)
        let am = c.alertmanager
        XCTAssertEqual(am.urls, ["https://am-1.example:9093", "https://am-2.example:9093/"])
        XCTAssertTrue(am.isEnabled)
        XCTAssertEqual(am.pathPrefix, "/alertmanager")
        XCTAssertEqual(am.resendInterval, .minutes(2))
        XCTAssertEqual(am.timeout, .seconds(30))
        XCTAssertEqual(am.labels, ["cluster": "prod-eu-1", "env": "production"])
        XCTAssertEqual(am.tls.caFile, "/etc/dockward/am-ca.pem")
        XCTAssertEqual(am.tls.certFile, "/etc/dockward/am-client.pem")
        XCTAssertEqual(am.tls.keyFile, "/etc/dockward/am-client.key")
        XCTAssertEqual(am.tls.serverName, "alertmanager.internal")
        XCTAssertEqual(am.basicAuthUsername, "dockward")
        XCTAssertEqual(am.basicAuthPasswordFile, "/etc/dockward/am-password")
        XCTAssertNil(am.bearerTokenFile)
        XCTAssertEqual(am.queueCapacity, 500)
        XCTAssertTrue(c.summary.hasSuffix(", alertmanager 2 url(s)"), c.summary)

        let bearer = try parse("""
        alertmanager:
          urls: [http://127.0.0.1:9093]
          bearer_token_file: /run/secrets/am-token
          tls: { ca_file: "", cert_file: null, key_file: ~, server_name: "" }
          basic_auth: { username: "", password_file: "" }
        """).alertmanager
        XCTAssertEqual(bearer.bearerTokenFile, "/run/secrets/am-token")
        XCTAssertEqual(bearer.tls, AlertmanagerConfig.TLS(), "empty and null are unset, so tls with http:// is fine")
        XCTAssertNil(bearer.basicAuthUsername)
        XCTAssertNil(bearer.basicAuthPasswordFile)
    }

    func testAlertmanagerURLsAreCheckedOneByOne() throws {
        XCTAssertEqual(try parse("""
        alertmanager:
          urls: [http://am:9093, "https://AM.example", "http://[::1]:9093/", http://10.0.0.7, http://am_1.local:80]
        """).alertmanager.urls.count, 5)
        let found = located("""
        alertmanager:
          urls:
            - ftp://am:9093
            - http://dockward:s3cret@am:9093
            - http://am:0
            - http://am:65536
            - http://am:9093/api/v2
            - http://am:9093?x=1
            - http://am:9093/#top
            - http://:9093
            - "http://a m:9093"
            - "http://[::1:9093"
            - {}
        """)
        XCTAssertEqual(found, [
            "3 alertmanager.urls[0]: must start with http:// or https://, got \"ftp://am:9093\"",
            "4 alertmanager.urls[1]: must not carry a user or password; use basic_auth",
            "5 alertmanager.urls[2]: port must be from 1 to 65535, got \"http://am:0\"",
            "6 alertmanager.urls[3]: port must be from 1 to 65535, got \"http://am:65536\"",
            "7 alertmanager.urls[4]: must not have a path; put it in path_prefix, got \"http://am:9093/api/v2\"",
            "8 alertmanager.urls[5]: must not have a query or fragment, got \"http://am:9093?x=1\"",
            "9 alertmanager.urls[6]: must not have a query or fragment, got \"http://am:9093/#top\"",
            "10 alertmanager.urls[7]: needs a host (a name, an IPv4 address or a [bracketed] IPv6 address), got \"http://:9093\"",
            "11 alertmanager.urls[8]: must not contain spaces or control characters, got \"http://a m:9093\"",
            "12 alertmanager.urls[9]: needs a host (a name, an IPv4 address or a [bracketed] IPv6 address), got \"http://[::1:9093\"",
            "13 alertmanager.urls[10]: expected a URL like http://alertmanager:9093",
        ])
        XCTAssertFalse(found.joined().contains("s3cret"), "the password in a refused URL is not repeated")
        XCTAssertEqual(located("alertmanager:\n  urls: http://am:9093\n"),
                       ["2 alertmanager.urls: expected a list of URLs like http://alertmanager:9093"])
    }

    /// The same Alertmanager written twice would get every alert twice.
    func testAlertmanagerURLGivenTwiceIsRefused() {
        XCTAssertEqual(located("""
        alertmanager:
          urls:
            - http://am-1:9093
            - http://am-2:9093
            - http://AM-1:9093/
            - http://am-3
            - http://am-3:80
        """), [
            "5 alertmanager.urls[2]: given twice (as alertmanager.urls[0] too)",
            "7 alertmanager.urls[4]: given twice (as alertmanager.urls[3] too)",
        ])
        XCTAssertNoThrow(try parse("alertmanager:\n  urls: [http://am:9093, https://am:9093, http://am:9094]\n"),
                         "another scheme or port is another endpoint")
    }

    func testBadAlertmanagerValuesNameLineAndKey() {
        XCTAssertEqual(located("""
        alertmanager:
          path_prefix: alertmanager
          resend_interval: 500ms
          timeout: 0s
          queue_capacity: 0
          tls:
            ca_file: etc/ca.pem
            server_name: "alert manager"
          basic_auth:
            username: "a:b"
          bearer_token_file: token
        """), [
            "2 alertmanager.path_prefix: must start with /, got \"alertmanager\"",
            "3 alertmanager.resend_interval: must be between 1s and 1h, got 500ms",
            "4 alertmanager.timeout: must be greater than 0",
            "5 alertmanager.queue_capacity: must be from 1 to 1000000, got 0",
            "7 alertmanager.tls.ca_file: expected an absolute path, got \"etc/ca.pem\"",
            "8 alertmanager.tls.server_name: expected a DNS name (letters, digits, -, . or _; an IP address is not supported here), got \"alert manager\"",
            "10 alertmanager.basic_auth.username: must not contain : or control characters",
            "11 alertmanager.bearer_token_file: expected an absolute path, got \"token\"",
        ])
        XCTAssertEqual(located("""
        alertmanager:
          path_prefix: "/am?x"
          resend_interval: 2h
          timeout: 6m
          queue_capacity: 1000001
        """), [
            "2 alertmanager.path_prefix: must be a plain URL path: letters, digits, / and -._~!$&'()*+,;=:@ or %XX escapes, got \"/am?x\"",
            "3 alertmanager.resend_interval: must be between 1s and 1h, got 2h",
            "4 alertmanager.timeout: must be between 1s and 5m, got 6m",
            "5 alertmanager.queue_capacity: must be from 1 to 1000000, got 1000001",
        ])
        // Characters a URL path may not hold as they are: refused here, so
        // the delivery never meets them (Foundation traps on some).
        for prefix in ["/am%", "/am%zz", "/am|eu", "/a{b}", "/a[1]", "/a\\\\b", "/a^b", "/été", "/a\\\"b"] {
            XCTAssertEqual(located("alertmanager:\n  path_prefix: \"\(prefix)\"\n").count, 1, prefix)
        }
        XCTAssertEqual(try parse("alertmanager:\n  path_prefix: \"/am%2Feu/x-1_~:@\"\n").alertmanager.pathPrefix, "/am%2Feu/x-1_~:@")
        XCTAssertEqual(located("alertmanager:\n  tls:\n    server_name: 10.0.0.7\n"),
                       ["3 alertmanager.tls.server_name: expected a DNS name (letters, digits, -, . or _; an IP address is not supported here), got \"10.0.0.7\""])
        XCTAssertEqual(located("alertmanager:\n  queue_capacity: lots\n  timeout: 10\n"), [
            "2 alertmanager.queue_capacity: expected a whole number from 1 to 1000000, got \"lots\"",
            "3 alertmanager.timeout: expected a duration like 500ms, 1s, 5m, got \"10\"",
        ])
        XCTAssertEqual(located("alertmanager: 3\n"), ["1 alertmanager: expected a mapping of keys (urls, path_prefix, "
            + "resend_interval, timeout, labels, tls, basic_auth, bearer_token_file, queue_capacity)"])
    }

    func testAlertmanagerLabels() throws {
        XCTAssertEqual(try parse("alertmanager:\n  labels: { _team: core, Zone2: \"b\", n: 5 }\n").alertmanager.labels,
                       ["_team": "core", "Zone2": "b", "n": "5"])
        let reserved = "reserved: dockward sets this label itself "
            + "(alertname, severity, kind, container, container_id, image, host, episode, namespace, pod)"
        XCTAssertEqual(located("""
        alertmanager:
          labels:
            cluster: prod
            2fast: x
            a-b: x
            __meta: x
            severity: low
            container: x
            env: ""
            owner:
            team: [a]
        """), [
            "4 alertmanager.labels.2fast: a label name is letters, digits and _, not starting with a digit ([a-zA-Z_][a-zA-Z0-9_]*)",
            "5 alertmanager.labels.a-b: a label name is letters, digits and _, not starting with a digit ([a-zA-Z_][a-zA-Z0-9_]*)",
            "6 alertmanager.labels.__meta: names starting with __ are reserved for Alertmanager's own use",
            "7 alertmanager.labels.severity: \(reserved)",
            "8 alertmanager.labels.container: \(reserved)",
            "9 alertmanager.labels.env: must not be empty",
            "10 alertmanager.labels.owner: expected a string",
            "11 alertmanager.labels.team: expected a string",
        ])
        for name in AlertmanagerConfig.reservedLabelNames {
            XCTAssertEqual(issues("alertmanager:\n  labels: { \(name): x }\n").map(\.key), ["alertmanager.labels.\(name)"])
        }
        XCTAssertEqual(located("alertmanager:\n  labels: [cluster=prod]\n"),
                       ["2 alertmanager.labels: expected a mapping of label names to values"])
    }

    func testUnknownAlertmanagerKeysListTheTablesKeys() {
        XCTAssertEqual(located("alertmanager:\n  url: http://am:9093\n"), [
            "2 alertmanager.url: unknown key; expected one of: urls, path_prefix, resend_interval, timeout, labels, tls, "
                + "basic_auth, bearer_token_file, queue_capacity",
        ])
        XCTAssertEqual(located("alertmanager:\n  tls: { insecure_skip_verify: true }\n"), [
            "2 alertmanager.tls.insecure_skip_verify: unknown key; expected one of: ca_file, cert_file, key_file, server_name",
        ])
        XCTAssertEqual(located("alertmanager:\n  basic_auth:\n    password: hunter2\n"), [
            "3 alertmanager.basic_auth.password: unknown key; expected one of: username, password_file",
        ])
        XCTAssertEqual(located("alertmanager:\n  tls: /etc/ca.pem\n"), [
            "2 alertmanager.tls: expected a mapping of keys (ca_file, cert_file, key_file, server_name)",
        ])
    }

    // MARK: Checks across keys

    func testAlertmanagerTimeoutMustBeBelowResendInterval() {
        XCTAssertEqual(located("alertmanager:\n  timeout: 1m\n  resend_interval: 1m\n"),
                       ["2 alertmanager.timeout: must be below resend_interval (1m >= 1m, alertmanager.resend_interval at line 3)"])
        XCTAssertEqual(located("alertmanager:\n  timeout: 2m\n"),
                       ["2 alertmanager.timeout: must be below resend_interval (2m >= 1m, alertmanager.resend_interval by default)"])
        XCTAssertEqual(located("alertmanager:\n  resend_interval: 5s\n"),
                       ["2 alertmanager.resend_interval: must be above timeout (5s <= 10s, alertmanager.timeout by default)"])
        XCTAssertNoThrow(try parse("alertmanager:\n  resend_interval: 5s\n  timeout: 4s\n"))
    }

    func testAlertmanagerTLSKeys() {
        let https = "alertmanager:\n  urls: [https://am:9093]\n"
        XCTAssertEqual(located(https + "  tls: { cert_file: /etc/c.pem }\n"),
                       ["3 alertmanager.tls.cert_file: needs tls.key_file too: a client certificate goes with its key"])
        XCTAssertEqual(located(https + "  tls:\n    key_file: /etc/c.key\n"),
                       ["4 alertmanager.tls.key_file: needs tls.cert_file too: a client key goes with its certificate"])
        XCTAssertEqual(located("alertmanager:\n  urls: [http://am:9093]\n  tls:\n    server_name: am\n    ca_file: /etc/ca.pem\n"),
                       ["4 alertmanager.tls.server_name: tls applies only to https:// urls, and alertmanager.urls has none"],
                       "one issue, at the first tls key of the file")
        XCTAssertEqual(located("alertmanager:\n  tls: { ca_file: /etc/ca.pem }\n").count, 1, "no urls: no https:// url either")
        XCTAssertNoThrow(try parse("alertmanager:\n  urls: [http://am-1:9093, https://am-2:9093]\n  tls: { ca_file: /etc/ca.pem }\n"),
                         "tls for the https:// ones")
    }

    func testAlertmanagerAuthKeys() {
        let head = "alertmanager:\n  urls: [http://am:9093]\n"
        XCTAssertEqual(located(head + "  basic_auth: { username: dockward }\n"),
                       ["3 alertmanager.basic_auth.username: needs basic_auth.password_file too (the password stays in a file)"])
        XCTAssertEqual(located(head + "  basic_auth: { password_file: /etc/pw }\n"),
                       ["3 alertmanager.basic_auth.password_file: needs basic_auth.username too"])
        XCTAssertEqual(located(head + "  bearer_token_file: /etc/token\n  basic_auth:\n    username: d\n    password_file: /etc/pw\n"),
                       ["3 alertmanager.bearer_token_file: not with basic_auth (alertmanager.basic_auth.username at line 5): "
                            + "one Authorization header per request"])
    }

    /// The checks across keys wait for the whole section: the same verdict
    /// whatever the order of its keys.
    func testAlertmanagerKeyOrderDoesNotMatter() {
        let keys = [
            "  urls: [http://am:9093]\n",
            "  tls: { ca_file: /etc/ca.pem }\n",
            "  timeout: 2m\n",
            "  bearer_token_file: /etc/token\n",
            "  basic_auth: { username: d, password_file: /etc/pw }\n",
        ]
        var verdicts = Set<[String]>()
        for order in ConfigValidationTests.permutations(Array(keys.indices)) {
            let found = issues("alertmanager:\n" + order.map { keys[$0] }.joined())
            // Lines differ between orders; the keys and what is said don't.
            verdicts.insert(found.map { issue in
                "\(issue.key): " + issue.message.replacingOccurrences(of: #" at line \d+"#, with: "", options: .regularExpression)
            }.sorted())
        }
        XCTAssertEqual(verdicts, [[
            "alertmanager.bearer_token_file: not with basic_auth (alertmanager.basic_auth.username): one Authorization header per request",
            "alertmanager.timeout: must be below resend_interval (2m >= 1m, alertmanager.resend_interval by default)",
            "alertmanager.tls.ca_file: tls applies only to https:// urls, and alertmanager.urls has none",
        ]])
    }

    // Reload lines: ConfigTableTests.testChangesHasOneLinePerTableKey has one per key, these included.

    func testALabelsReloadLineCountsAndPrintsNoValue() throws {
        let new = try parse("alertmanager:\n  labels: { cluster: prod }\n")
        var revalued = new
        revalued.alertmanager.labels = ["cluster": "staging"]
        XCTAssertEqual(revalued.changes(from: new), ["alertmanager.labels: 1 label(s) -> 1"], "values are not printed")
    }
}
