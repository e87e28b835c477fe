import Foundation
import PaddockCore
import PaddockSandbox
import PaddockServices

/// E2B's template (a base and instructions, as `Template()…` serializes them) as a Paddock template build: each
/// instruction that does something becomes one install step, run by `TemplateService` like any other build.
/// Pure: the uploads are given, the base is resolved by the caller.
struct E2BTemplateRecipe: Sendable {
    /// What the template starts from, before Paddock's store is asked.
    enum Base: Equatable, Sendable {
        /// Paddock's `host` template: E2B's `base` (template or image) and the aliases that map onto it.
        case host
        /// A template built on this server.
        case template(String)
    }

    /// A build refused or failed at one of E2B's steps (`base`, `1`…, `finalize`).
    struct Failure: Error, Sendable {
        var step: String?
        var message: String
    }

    /// The install steps, and for each the E2B step it is (for progress lines and errors).
    var spec: TemplateSpec
    var stepLabels: [String]
    var stepSummaries: [String]
    /// What the build leaves out, said in the build's log.
    var warnings: [String]

    /// Where uploaded archives are in the build context (removed before the layer is sealed).
    static let uploadsDirectory = "e2b-files"
    /// E2B's build defaults, which are Paddock's sandbox user and home as well.
    static let defaultUser = SandboxLayout.userName
    static let defaultWorkdir = SandboxLayout.home

    /// Images that are E2B's base template, which Paddock's `host` template stands in for.
    static func isE2BBaseImage(_ image: String) -> Bool {
        let name = image.split(separator: "@").first.map(String.init) ?? image
        let repository = name.split(separator: ":").first.map(String.init) ?? name
        return ["e2bdev/base", "docker.io/e2bdev/base", "index.docker.io/e2bdev/base"].contains(repository)
    }

    static func base(_ start: E2B.TemplateBuildStart) throws(Failure) -> Base {
        if let template = start.fromTemplate, !template.isEmpty {
            if E2B.isTemplateName(template) { return .host }
            return .template(String(template.split(separator: ":").first ?? Substring(template)))
        }
        let image = start.fromImage ?? "e2bdev/base"
        guard start.fromImageRegistry == nil, isE2BBaseImage(image) else {
            throw Failure(
                step: "base",
                message: "image '\(image)' cannot be used: this Paddock server builds templates from its own "
                    + "templates, not from a registry (it pulls no images). Start from Template().from_template('base') "
                    + "(Paddock's host template, as E2B's base image) or from a template built here; to use an image, "
                    + "save it on the server and build a template from it with "
                    + "`paddock template build NAME --base oci:/PATH`, then from_template('NAME')")
        }
        return .host
    }

    /// Translates the instructions over `base` (Paddock's base and the install steps it already has).
    init(
        name: String, start: E2B.TemplateBuildStart, base: String, inherited: [String], uploads: [String: Data]
    ) throws(Failure) {
        var install = inherited
        var labels = Array(repeating: "base", count: inherited.count)
        var summaries = inherited.map { "inherited: \($0)" }
        var context: [TemplateContextFile] = []
        var warnings: [String] = []
        var user = Self.defaultUser
        var workdir = Self.defaultWorkdir
        var env: [String] = []
        for (index, step) in (start.steps ?? []).enumerated() {
            let label = String(index + 1)
            let args = step.args ?? []
            func arg(_ i: Int) -> String? { i < args.count && !args[i].isEmpty ? args[i] : nil }
            func require(_ i: Int, _ what: String) throws(Failure) -> String {
                guard let value = arg(i) else {
                    throw Failure(
                        step: label, message: "\(step.type) needs \(what); the SDK sends it as argument \(i + 1)")
                }
                // A command may span lines; a path or a name may not (it is spliced into the step's script).
                guard !value.contains("\0"), what == "a command" || !value.contains(where: \.isNewline) else {
                    throw Failure(step: label, message: "\(step.type) \(what) must be on one line")
                }
                return value
            }
            let script: String
            switch step.type.uppercased() {
            case "RUN":
                let command = try require(0, "a command")
                script = Self.run(command, as: arg(1) ?? user, in: workdir, env: env)
                summaries.append("RUN \(command)" + (arg(1).map { " (as \($0))" } ?? ""))
            case "COPY":
                let source = try require(0, "a source path")
                let destination = try require(1, "a destination path")
                guard let hash = step.filesHash, hash.allSatisfy({ $0.isHexDigit }), !hash.isEmpty else {
                    throw Failure(step: label, message: "COPY \(source) came without the hash of its files")
                }
                guard let archive = uploads[hash] else {
                    throw Failure(
                        step: label,
                        message: "the files of COPY \(source) were not uploaded; build again (the SDK uploads them "
                            + "before it starts the build)")
                }
                let path = "\(Self.uploadsDirectory)/\(hash).tar"
                if !context.contains(where: { $0.path == path }) {
                    context.append(TemplateContextFile(path: path, mode: 0o644, data: archive))
                }
                let owner = arg(2) ?? (user == "root" ? nil : user)
                guard arg(3).map({ !$0.isEmpty && $0.allSatisfy { "01234567".contains($0) } }) ?? true else {
                    throw Failure(step: label, message: "COPY mode '\(arg(3) ?? "")' is not an octal mode")
                }
                script = Self.copy(
                    archive: "\(TemplateService.buildContextPath)/\(path)", source: source, destination: destination,
                    owner: owner, mode: arg(3), in: workdir)
                summaries.append("COPY \(source) \(destination)")
            case "ENV":
                guard args.count % 2 == 0 else {
                    throw Failure(step: label, message: "ENV needs names and values in pairs")
                }
                for pair in stride(from: 0, to: args.count, by: 2) {
                    let name = args[pair]
                    guard let first = name.first, first == "_" || first.isLetter,
                        name.allSatisfy({ $0 == "_" || ($0.isASCII && ($0.isLetter || $0.isNumber)) })
                    else { throw Failure(step: label, message: "ENV name '\(name)' is not a variable name") }
                    env.append("\(name)=\(args[pair + 1])")
                }
                // Variables of the build only (as E2B documents them): the following steps get them.
                continue
            case "WORKDIR":
                let path = try require(0, "a path")
                workdir = path.hasPrefix("/") ? path : "\(workdir)/\(path)"
                script = Self.makeWorkdir(workdir, owner: user == "root" ? nil : user)
                summaries.append("WORKDIR \(path)")
            case "USER":
                user = try require(0, "a user name")
                script = Self.checkUser(user)
                summaries.append("USER \(user)")
            default:
                throw Failure(
                    step: label,
                    message: "instruction \(step.type) is not supported; use RUN, COPY, ENV, WORKDIR or USER")
            }
            install.append(script)
            labels.append(label)
        }
        if start.startCmd != nil || start.readyCmd != nil {
            warnings.append(
                "the start command is not kept: Paddock templates hold files, not running processes, so sandboxes "
                    + "of this template start without it; start it with commands.run(..., background=True)")
        }
        let spec = TemplateSpec(name: name, base: base, install: install, context: context)
        do { try spec.validate() } catch { throw Failure(step: nil, message: error.message) }
        self.spec = spec
        stepLabels = labels
        stepSummaries = summaries
        self.warnings = warnings
    }

    // MARK: Steps as shell scripts (run as root by the build, each in its own `sh -c`)

    static func quote(_ text: String) -> String { "'" + text.replacingOccurrences(of: "'", with: #"'\''"#) + "'" }

    /// A path pattern with its glob characters (`*`, `?`, `[…]`) active and everything else literal.
    static func glob(_ pattern: String) -> String {
        pattern.map { c -> String in
            if "*?[]".contains(c) || c.isASCII && (c.isLetter || c.isNumber) || "/._-".contains(c) { return String(c) }
            return "\\\(c)"
        }.joined()
    }

    static func run(_ command: String, as user: String, in workdir: String, env: [String]) -> String {
        let variables = env.map(quote).joined(separator: " ")
        if user == "root" {
            return "cd \(quote(workdir)) && exec env \(variables) /bin/bash -c \(quote(command))"
        }
        // Root drops to the user for the command (setpriv: no PAM, no setuid binary, fine under no_new_privs).
        return """
            \(checkUser(user))
            u=\(quote(user))
            cd \(quote(workdir)) && exec setpriv --reuid="$(id -u "$u")" --regid="$(id -g "$u")" --init-groups \
            env HOME="$(getent passwd "$u" | cut -d: -f6)" USER="$u" LOGNAME="$u" \(variables) \
            /bin/bash -c \(quote(command))
            """
    }

    static func checkUser(_ user: String) -> String {
        "id -u \(quote(user)) >/dev/null 2>&1 || { echo \(quote("invalid username: '\(user)'")) >&2; exit 1; }"
    }

    static func makeWorkdir(_ path: String, owner: String?) -> String {
        let chown = owner.map { " && chown \(quote($0)) \(quote(path))" } ?? ""
        return "[ -d \(quote(path)) ] || { mkdir -p \(quote(path))\(chown); }"
    }

    /// Docker's COPY: several matches, a directory or a destination ending in `/` copy into a directory;
    /// a directory's contents are copied, not the directory itself.
    static func copy(
        archive: String, source: String, destination: String, owner: String?, mode: String?, in workdir: String
    ) -> String {
        var lines = [
            "set -e",
            "x=$(mktemp -d)",
            "tar -xf \(quote(archive)) -C \"$x\" --no-same-owner",
            "mkdir -p \(quote(workdir)) && cd \(quote(workdir))",
            "d=\(quote(destination))",
            "set -- \"$x\"/\(glob(source))",
            "[ -e \"$1\" ] || [ -L \"$1\" ] || { echo \(quote("COPY \(source): no file matches")) >&2; exit 1; }",
            "if [ $# -gt 1 ] || { [ -d \"$1\" ] && [ ! -L \"$1\" ]; } || [ \"${d%/}\" != \"$d\" ]; then",
            "  mkdir -p \"$d\"",
            "  for f; do if [ -d \"$f\" ] && [ ! -L \"$f\" ]; then cp -a \"$f/.\" \"$d/\"; else cp -a \"$f\" \"$d/\"; fi; done",
            "else",
            "  mkdir -p \"$(dirname \"$d\")\" && cp -a \"$1\" \"$d\"",
            "fi",
        ]
        if let owner { lines.append("chown -R \(quote(owner)) \"$d\"") }
        if let mode { lines.append("chmod -R \(mode) \"$d\"") }
        lines.append("rm -rf \"$x\"")
        return lines.joined(separator: "\n")
    }
}
