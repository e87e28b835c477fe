import Foundation
import PaddockCore
import PaddockStore

extension AutomationService {
    /// Fires every schedule whose next tick has come, and returns when the soonest next tick is.
    ///
    /// Each tick is an invocation whose dedupe key is the tick's time, and the automation keeps the last tick it
    /// fired: a restart does not fire a tick again (the key is taken), a clock set back does not either (the
    /// next tick is counted from the last one fired), and ticks missed while the server was down collapse into
    /// the latest one, so a stopped server does not come back to a burst of runs.
    func fireDueSchedules() async -> Date? {
        let automations: [Automation]
        do { automations = try await store.automations().filter { $0.spec.source == .schedule } } catch {
            logger.error("the schedules could not be read", metadata: ["error": "\(error)"])
            return nil
        }
        var soonest: Date?
        for automation in automations {
            do {
                if let next = try await fireIfDue(automation.id) { soonest = min(soonest ?? next, next) }
            } catch {
                logger.error(
                    "a schedule could not fire", metadata: ["automation.id": "\(automation.id)", "error": "\(error)"])
            }
        }
        return soonest
    }

    /// Fires the automation's latest due tick, if one is due and not fired; returns its next tick.
    func fireIfDue(_ id: String) async throws -> Date? {
        try await records.withLock(id) {
            guard var automation = try await store.automation(id), let text = automation.spec.schedule else {
                return nil
            }
            let cron = try CronExpression(text)
            let zone = try AutomationSpec.timeZone(automation.spec.timeZone)
            let now = clock()
            let last = automation.lastTick ?? automation.createdAt
            if var due = cron.next(after: last, in: zone), due <= now {
                // Skip forward to the latest tick not after now.
                while let later = cron.next(after: due, in: zone), later <= now { due = later }
                // Stored first, then marked fired: a crash in between fires the tick again after the restart, and
                // its dedupe key makes that a record of a repeat, not a second run.
                let stamp = ISO8601DateFormatter().string(from: due)
                _ = try await receive(
                    .object(["tick": .string(stamp), "schedule": .string(text)]), automation: id,
                    dedupeKey: "tick:" + stamp, trigger: "schedule")
                automation.lastTick = due
                try await store.updateAutomation(automation)
            }
            return cron.next(after: max(automation.lastTick ?? automation.createdAt, now), in: zone)
        }
    }
}
