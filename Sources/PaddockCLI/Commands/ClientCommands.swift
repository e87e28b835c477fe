import ArgumentParser

/// The commands that talk to a Paddock server, in the order `paddock --help` lists them. The `paddock` root
/// command (PaddockHost) puts the commands that run on the host around them: `server` first, `doctor` and
/// `bench` last.
public enum ClientCommands {
    public static let all: [any ParsableCommand.Type] = [
        RunCommand.self, SessionCommand.self, ExecCommand.self, CopyCommand.self, PoolCommand.self,
        PolicyCommand.self, SnapshotCommand.self, TemplateCommand.self, ApprovalsCommand.self, DiffCommand.self,
        SubmitCommand.self, ReviewsCommand.self, SecretsCommand.self, UsersCommand.self, TeamsCommand.self,
        TokensCommand.self, StopAllCommand.self, LimitsCommand.self, AuditCommand.self, PromptCommand.self,
        RunsCommand.self, UsageCommand.self, ProjectsCommand.self, AutomationsCommand.self,
        InvitesCommand.self, PreviewCommand.self, ReposCommand.self, TopCommand.self,
    ]
}
