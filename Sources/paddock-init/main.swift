// paddock-init: PID 1 of every Paddock sandbox. It supervises processes, streams their output and
// serves file operations for the host over one unix socket. No Foundation and no threads: it is linked
// statically and must idle at a couple of MB.
import Glibc

// Called as `sudo` (a symlink in the sandbox), it is the client of init's sudo socket, not init.
if let name = CommandLine.arguments.first?.split(separator: "/").last, name == "sudo" {
    exit(SudoClient.run(Array(CommandLine.arguments.dropFirst())))
}

switch Options.parse(Array(CommandLine.arguments.dropFirst())) {
case .help:
    print(Options.usage)
    exit(0)
case .invalid(let problem):
    diagnose("\(problem)\n\(Options.usage)")
    exit(2)
case .run(let options):
    exit(Startup.run(options))
}
