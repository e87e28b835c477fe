import Foundation
import Testing

@testable import PaddockCore

/// The parts of automations that need no server: cron expressions, prompt templates, filters, redaction, rate
/// limits and the validation of a spec.
struct AutomationModelTests {
    static let utc = TimeZone(secondsFromGMT: 0) ?? .current

    /// An ISO 8601 time; the tests write them by hand, so a typo is the test's own bug.
    static func date(_ text: String) -> Date {
        guard let date = ISO8601DateFormatter().date(from: text) else { preconditionFailure("not ISO 8601: \(text)") }
        return date
    }

    static func ticks(_ cron: String, from: String, count: Int, zone: TimeZone = utc) throws -> [String] {
        let expression = try CronExpression(cron)
        var out: [String] = []
        var at = date(from)
        let formatter = ISO8601DateFormatter()
        for _ in 0..<count {
            guard let next = expression.next(after: at, in: zone) else { break }
            out.append(formatter.string(from: next))
            at = next
        }
        return out
    }

    // MARK: Cron

    @Test func everyMinuteAndSteps() throws {
        #expect(
            try Self.ticks("* * * * *", from: "2026-03-01T10:00:30Z", count: 3) == [
                "2026-03-01T10:01:00Z", "2026-03-01T10:02:00Z", "2026-03-01T10:03:00Z",
            ])
        #expect(
            try Self.ticks("*/15 * * * *", from: "2026-03-01T10:07:00Z", count: 3) == [
                "2026-03-01T10:15:00Z", "2026-03-01T10:30:00Z", "2026-03-01T10:45:00Z",
            ])
        // `5/20`: from 5, every 20.
        #expect(
            try Self.ticks("5/20 9 * * *", from: "2026-03-01T09:00:00Z", count: 4) == [
                "2026-03-01T09:05:00Z", "2026-03-01T09:25:00Z", "2026-03-01T09:45:00Z", "2026-03-02T09:05:00Z",
            ])
        // A tick exactly at `after` is not "after" it.
        #expect(try Self.ticks("0 * * * *", from: "2026-03-01T10:00:00Z", count: 1) == ["2026-03-01T11:00:00Z"])
    }

    @Test func rangesListsAndNames() throws {
        #expect(
            try Self.ticks("0 9-17/4 * * *", from: "2026-03-01T00:00:00Z", count: 4) == [
                "2026-03-01T09:00:00Z", "2026-03-01T13:00:00Z", "2026-03-01T17:00:00Z", "2026-03-02T09:00:00Z",
            ])
        #expect(
            try Self.ticks("30 8,12 * * *", from: "2026-03-01T09:00:00Z", count: 3) == [
                "2026-03-01T12:30:00Z", "2026-03-02T08:30:00Z", "2026-03-02T12:30:00Z",
            ])
        // 2026-03-02 is a Monday; mon-fri skips the weekend.
        #expect(
            try Self.ticks("0 6 * * mon-fri", from: "2026-03-05T07:00:00Z", count: 3) == [
                "2026-03-06T06:00:00Z", "2026-03-09T06:00:00Z", "2026-03-10T06:00:00Z",
            ])
        #expect(
            try Self.ticks("0 0 1 jan,jul *", from: "2026-03-05T00:00:00Z", count: 2) == [
                "2026-07-01T00:00:00Z", "2027-01-01T00:00:00Z",
            ])
        // Sunday is 0 and 7.
        #expect(try CronExpression("0 0 * * 7").daysOfWeek == [0])
        #expect(try CronExpression("0 0 * * 0").daysOfWeek == [0])
    }

    @Test func dayOfMonthAndDayOfWeekTogetherMatchEither() throws {
        // The 13th, or any Friday (Vixie cron): 2026-03-06 and 2026-03-13 are Fridays.
        #expect(
            try Self.ticks("0 0 13 * 5", from: "2026-03-01T00:00:00Z", count: 3) == [
                "2026-03-06T00:00:00Z", "2026-03-13T00:00:00Z", "2026-03-20T00:00:00Z",
            ])
        // With the weekday a star, only the day of month counts; February 30 never comes.
        #expect(try Self.ticks("0 0 30 2 *", from: "2026-01-01T00:00:00Z", count: 1).isEmpty)
        #expect(try Self.ticks("0 0 29 2 *", from: "2026-01-01T00:00:00Z", count: 1) == ["2028-02-29T00:00:00Z"])
    }

    @Test func timeZonesAndDaylightSaving() throws {
        let berlin = TimeZone(identifier: "Europe/Berlin")!
        // 09:00 in Berlin is 08:00 UTC in winter, 07:00 in summer.
        #expect(
            try Self.ticks("0 9 * * *", from: "2026-03-27T12:00:00Z", count: 3, zone: berlin) == [
                "2026-03-28T08:00:00Z", "2026-03-29T07:00:00Z", "2026-03-30T07:00:00Z",
            ])
        // 02:30 does not exist on 2026-03-29 in Berlin: that day has no tick.
        #expect(
            try Self.ticks("30 2 * * *", from: "2026-03-28T00:00:00Z", count: 2, zone: berlin) == [
                "2026-03-28T01:30:00Z", "2026-03-30T00:30:00Z",
            ])
        // 02:30 happens twice on 2026-10-25: it fires once.
        #expect(
            try Self.ticks("30 2 * * *", from: "2026-10-24T12:00:00Z", count: 2, zone: berlin) == [
                "2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z",
            ])
    }

    @Test(arguments: [
        ("* * * *", "five"), ("60 * * * *", "minute"), ("* 24 * * *", "hour"), ("* * 0 * *", "day of month"),
        ("* * * 13 *", "month"), ("* * * * 8", "day of week"), ("5-1 * * * *", "backwards"), ("*/0 * * * *", "step"),
        ("1,,2 * * * *", "empty"), ("* * * foo *", "month"),
    ])
    func badExpressionsSayWhatIsWrong(text: String, hint: String) {
        #expect(throws: PaddockError.self) { try CronExpression(text) }
        do { _ = try CronExpression(text) } catch { #expect(error.message.contains(hint), "\(error.message)") }
    }

    // MARK: Templates, filters, redaction

    static let event: JSONDocument = .object([
        "text": .string("the build is red"),
        "alert": .object(["title": .string("CPU high"), "count": .number("3"), "tags": .array([.string("prod")])]),
        "items": .array([.object(["name": .string("first")])]),
    ])
    static var context: JSONDocument { .object(["event": event, "payload": event]) }

    @Test func templatesFillDottedPathsAndReportWhatIsMissing() throws {
        let template = try PromptTemplate(
            "Fix: {{event.text}} / {{ payload.alert.title }} x{{payload.alert.count}} {{payload.alert.tags}} "
                + "{{event.items.0.name}} [{{event.nope}}]")
        let (prompt, missing) = template.fill(Self.context)
        #expect(prompt == "Fix: the build is red / CPU high x3 [\"prod\"] first []")
        #expect(missing == ["event.nope"])
        #expect(throws: PaddockError.self) { try PromptTemplate("{{event.text") }
        #expect(throws: PaddockError.self) { try PromptTemplate("{{event..text}}") }
        #expect(throws: PaddockError.self) { try PromptTemplate("{{}}") }
    }

    @Test func filtersCompareTestAndMatchText() throws {
        func matches(_ rule: String) throws -> Bool { try AutomationFilter(parsing: rule).matches(Self.context) }
        #expect(try matches("payload.alert.title=CPU high"))
        #expect(try !matches("payload.alert.title=CPU low"))
        #expect(try matches("payload.alert.title!=CPU low"))
        #expect(try matches("event.text~BUILD"))
        #expect(try !matches("event.text~deploy"))
        #expect(try matches("payload.alert.count=3"))
        #expect(try matches("payload.alert"))
        #expect(try !matches("payload.missing"))
        #expect(try AutomationFilter(parsing: "a.b=c").description == "a.b=c")
        #expect(throws: PaddockError.self) { try AutomationFilter(parsing: "a b=c") }
    }

    @Test func storedEventsHaveTheirSecretsRedacted() throws {
        let event = try JSONDocument.parse(
            Data(
                #"{"token":"xoxb-1","nested":{"api_key":"k","Authorization":"Bearer x","ok":"keep"},"list":[{"password":"p"}]}"#
                    .utf8))
        let invocation = Invocation(
            automation: "au_1", receivedAt: Date(), dedupeKey: "k", trigger: "webhook", event: event)
        for secret in ["xoxb-1", "\"k\"", "Bearer x", "\"p\""] {
            #expect(!invocation.event.contains(secret), "\(invocation.event)")
        }
        #expect(invocation.event.contains("keep"))
        // Numbers keep every digit (ids), keys keep their spelling.
        let ids = try JSONDocument.parse(Data(#"{"event_id":12345678901234567890,"camelCase":1.5}"#.utf8))
        #expect(ids.jsonText == #"{"camelCase":1.5,"event_id":12345678901234567890}"#)
    }

    @Test func rateLimitsAndSpecsAreValidated() throws {
        #expect(try RateLimit(parsing: "3/10m") == RateLimit(count: 3, window: 600))
        #expect(throws: PaddockError.self) { try RateLimit(parsing: "0/1h") }
        #expect(throws: PaddockError.self) { try RateLimit(parsing: "ten/1h") }
        var spec = AutomationSpec(
            name: "x", source: .webhook, project: "web", prompt: "do {{event.text}}", runAs: "alice")
        try spec.validate()
        spec.schedule = "* * * * *"
        #expect(throws: PaddockError.self) { try spec.validate() }
        spec.source = .schedule
        try spec.validate()
        spec.timeZone = "Mars/Olympus"
        #expect(throws: PaddockError.self) { try spec.validate() }
        spec = AutomationSpec(name: "x", source: .webhook, project: "web", prompt: "  ", runAs: "alice")
        #expect(throws: PaddockError.self) { try spec.validate() }
        spec.prompt = "ok"
        spec.idempotencyKey = "json:event.id"
        try spec.validate()
        spec.idempotencyKey = "cookie:x"
        #expect(throws: PaddockError.self) { try spec.validate() }
        #expect(Automation.looksLikeID(Automation.makeID()))
        #expect(!Automation.looksLikeID("au_../../etc"))
    }
}
