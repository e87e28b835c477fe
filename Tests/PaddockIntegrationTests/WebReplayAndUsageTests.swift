import Foundation
import PaddockCore
import PaddockStore
import Testing

@testable import PaddockWeb

/// A run replayed step by step, the org's use per day by team and project, and diffs coloured by language:
/// in-process through the production router, as `WebPageTests`.
struct WebReplayAndUsageTests {
    /// A finished run recorded as the run service would have: its events in order, one second apart.
    static func recordRun(
        _ store: SQLiteStore, session: SessionID, team: String, project: String? = nil, cost: Double = 0,
        at start: Date = Date().addingTimeInterval(-60), events: [(kind: String, text: String?, tool: String?)] = []
    ) async throws -> Run {
        var run = Run(
            id: Run.makeID(), session: session, team: team, createdBy: "alice", prompt: "Add a <b>mul</b> function",
            agent: "claude-code", model: nil, createdAt: start)
        run.project = project
        run.status = .completed
        run.costUSD = cost
        run.startedAt = start
        run.finishedAt = start.addingTimeInterval(Double(events.count + 1))
        try await store.insertRun(run)
        for (index, event) in events.enumerated() {
            var recorded = RunEvent(
                run: run.id, at: start.addingTimeInterval(Double(index + 1)), kind: event.kind, text: event.text,
                tool: event.tool)
            recorded.seq = index + 1
            if event.kind == "tool_call" { recorded.input = #"{"command":"python3 tests/test_calc.py"}"# }
            try await store.appendRunEvent(recorded)
        }
        return run
    }

    @Test func aRunIsReplayedOneStepAtATimeToItsTeamOnly() async throws {
        try await WebPageTests.withWeb { web in
            let id = try #require(web.sessions["sa"])
            let run = try await Self.recordRun(
                web.store, session: id, team: "a",
                events: [
                    ("text", "I will add mul() and run the tests.", nil),
                    ("tool_call", nil, "Bash"),
                    ("tool_result", "Ran 3 tests\nOK", "Bash"),
                    ("final", "Added mul(); the tests pass.", nil),
                ])
            let path = "/sessions/\(id)/runs/\(run.id)"
            let (status, _, first) = try await web.get(path, as: "alice")
            #expect(status == .ok)
            #expect(first.contains("Step 1 of 5") && first.contains("Add a &lt;b&gt;mul&lt;/b&gt; function"))
            #expect(first.contains("This is the first step") && first.contains(#"href="?step=2" rel="next""#))
            let (_, _, third) = try await web.get(path + "?step=4", as: "alice")
            #expect(third.contains("Step 4 of 5") && third.contains("Bash answered") && third.contains("Ran 3 tests"))
            #expect(third.contains("Ran python3 tests/test_calc.py"), "earlier steps are listed")
            #expect(!third.contains("the tests pass"), "later steps are not shown yet")
            let (_, _, last) = try await web.get(path + "?step=99", as: "alice")
            #expect(last.contains("Step 5 of 5") && last.contains("the tests pass") && !last.contains(#"rel="next""#))
            #expect(try await web.get(path, as: "bob").0 == .notFound, "another team's run is not found")
            let other = try #require(web.sessions["sb"])
            #expect(try await web.get("/sessions/\(other)/runs/\(run.id)", as: "bob").0 == .notFound)
            let (_, _, audit) = try await web.get("/sessions/\(id)/audit", as: "alice")
            #expect(audit.contains(path), "the audit page links each run's replay")
        }
    }

    @Test func theOrgPageChartsEachDaysUseByTeamAndByProject() async throws {
        try await WebPageTests.withWeb { web in
            let a = try #require(web.sessions["sa"])
            let b = try #require(web.sessions["sb"])
            let yesterday = Date().addingTimeInterval(-86_400)
            _ = try await Self.recordRun(web.store, session: a, team: "a", project: "calc", cost: 1.5, at: yesterday)
            _ = try await Self.recordRun(web.store, session: a, team: "a", project: "calc", cost: 0.25)
            _ = try await Self.recordRun(web.store, session: b, team: "b", cost: 0.5)
            let (status, _, org) = try await web.get("/org", as: "ada")
            #expect(status == .ok)
            #expect(org.contains("Agent use per day by project") && org.contains(">calc<"))
            #expect(org.contains(">no project<") && org.contains(">$1.75<"), "calc's total over both days")
            let day = DateFormatter()
            day.dateFormat = "MMM d"
            day.timeZone = TimeZone(identifier: "UTC")
            day.locale = Locale(identifier: "en_US_POSIX")
            #expect(org.contains("<title>\(day.string(from: yesterday)): $1.50</title>"))
        }
    }

    @Test func chartsOfUnpricedRunsCountRunsAndOldRunsAreLeftOut() {
        let session = SessionID.random()
        var old = Run(
            id: "run_1", session: session, team: "a", createdBy: nil, prompt: "p", agent: "echo", model: nil,
            createdAt: Date().addingTimeInterval(-40 * 86_400))
        old.project = "calc"
        let recent = Run(
            id: "run_2", session: session, team: "a", createdBy: nil, prompt: "p", agent: "echo", model: nil,
            createdAt: Date())
        let chart = UsageChart(runs: [old, recent, recent], days: 30, until: Date()) { $0.project ?? "none" }
        #expect(chart.rows.map(\.label) == ["none"])
        #expect(chart.rows.first?.total == "2 runs")
        #expect(chart.rows.first?.bars.count == 1)
    }

    @Test func diffLinesAreColouredByTheirFilesLanguage() {
        let patch = """
            diff --git a/Sources/calc.swift b/Sources/calc.swift
            @@ -1,2 +1,3 @@
             // multiplies
            -func mul(_ a: Int) -> Int { a }
            +func mul(_ a: Int, _ b: Int) -> Int { a * b } /* two
            +still a comment */ let x = "<script>"
            diff --git a/README b/README
            @@ -1 +1 @@
            -func here is prose
            +let it be
            """
        let files = UnifiedDiff(patch).files
        #expect(files.count == 2)
        let swift = files[0].lines
        #expect(swift[1].tokens == [.init(kind: "com", text: "// multiplies")])
        #expect(swift[2].tokens.first == .init(kind: "kw", text: "func"))
        #expect(swift[3].tokens.contains(.init(kind: "com", text: "/* two")))
        #expect(
            swift[4].tokens.prefix(4) == [
                .init(kind: "com", text: "still a comment */"), .init(kind: "p", text: " "),
                .init(kind: "kw", text: "let"), .init(kind: "p", text: " x = "),
            ])
        #expect(swift[4].tokens.last == .init(kind: "str", text: #""<script>""#))
        #expect(swift.allSatisfy { $0.tokens.map(\.text).joined() == $0.text }, "no text is lost or added")
        #expect(files[1].lines[1].tokens == [.init(kind: "p", text: "func here is prose")], "unknown: plain")
        var python = SyntaxHighlighter(path: "app/main.py")
        #expect(python.tokens("x = 42  # the answer").map(\.kind) == ["p", "num", "p", "com"])
    }
}
