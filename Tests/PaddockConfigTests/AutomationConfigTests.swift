import PaddockCore
import Testing

@testable import PaddockConfig

/// `automations:` in runtime.yml: read into specs, every mistake reported with its line and column.
struct AutomationConfigTests {
    @Test func automationsAreReadIntoSpecs() throws {
        let config = try RuntimeConfig.parse(
            """
            version: 1
            automations:
              pd-triage:
                source: webhook
                prompt: "Reproduce: {{payload.event.data.title}}"
                run_as: alice
                team: oncall
                filter: [payload.event.event_type=incident.triggered]
                rate_limit: 5/1h
                idempotency_key: json:event.id
                max_failures: 3
              deps:
                source: schedule
                schedule: "0 6 * * 1"
                time_zone: Europe/Berlin
                prompt: Bump the dependencies
                run_as: alice
            """)
        #expect(config.automations.map(\.spec.name) == ["pd-triage", "deps"])
        let triage = config.automations[0].spec
        #expect(triage.source == .webhook && triage.team == "oncall" && triage.runAs == "alice")
        #expect(triage.filter.map(\.description) == ["payload.event.event_type=incident.triggered"])
        #expect(triage.rateLimit == RateLimit(count: 5, window: 3600) && triage.maxConsecutiveFailures == 3)
        #expect(config.automations[0].origin?.line == 3)
        #expect(config.automations[1].spec.schedule == "0 6 * * 1")
    }

    @Test(arguments: [
        ("    source: webhok\n    prompt: x\n    run_as: alice\n", 4, 13, "webhok"),
        ("    source: webhook\n    prompt: x\n", 3, 3, "run_as"),
        ("    source: schedule\n    schedule: '61 * * * *'\n    prompt: x\n    run_as: alice\n", 5, 15, "minute"),
        ("    source: webhook\n    prompt: 'x {{oops'\n    run_as: alice\n", 5, 13, "never closes"),
        ("    source: webhook\n    prompt: x\n    run_as: alice\n    rate: 1/1h\n", 7, 5, "rate_limit"),
        ("    source: webhook\n    prompt: x\n    run_as: alice\n    schedule: '* * * * *'\n", 3, 3, "only a schedule"),
    ])
    func mistakesNameTheirLineAndColumn(body: String, line: Int, column: Int, hint: String) {
        let text = "version: 1\nautomations:\n  one:\n" + body
        do {
            _ = try RuntimeConfig.parse(text)
            Issue.record("accepted: \(text)")
        } catch {
            #expect("\(error.line):\(error.column)" == "\(line):\(column)", "\(error)")
            #expect(error.description.contains(hint), "\(error)")
        }
    }
}
