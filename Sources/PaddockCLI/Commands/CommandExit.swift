/// Thrown to end the process with a given exit code (the sandboxed command's).
public struct CommandExit: Error {
    public let code: Int32
}
