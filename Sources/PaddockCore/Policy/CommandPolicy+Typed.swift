extension CommandPolicy {
    /// Decides for a command line as a person types it into a box (`git push origin main && rm -rf /`): every
    /// simple command in it is decided and the strictest decision wins, the way the exec guard would stop the
    /// first refused program. Nil when the line holds no command.
    public func decide(typed line: String) -> (argv: [String], decision: PolicyDecision)? {
        var best: (argv: [String], decision: PolicyDecision)?
        for argv in ShellScript.pipelines(line).joined() where !argv.isEmpty {
            let decision = decide(argv)
            if let current = best, !decision.overrides(current.decision) { continue }
            best = (argv, decision)
        }
        return best
    }
}
