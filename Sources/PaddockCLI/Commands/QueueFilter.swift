import ArgumentParser

/// The filter of the `list` commands of the approval and review queues: one session's items, and open ones
/// only unless `--all`.
struct QueueFilter: ParsableArguments {
    @Option(help: "Only this session's.") var session: String?
    @Flag(help: "Include the ones already decided (answered, expired, merged, rejected), not only open ones.")
    var all = false

    /// `route` with the filter as its query.
    func path(_ route: String) -> String {
        var query: [String: String] = [:]
        if let session { query["session"] = session }
        if all { query["all"] = "true" }
        return route + (query.isEmpty ? "" : "?" + APIClient.query(query))
    }
}
