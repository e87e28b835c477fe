import PaddockCLI

await PaddockCommand.execute()
