import PaddockHost

await PaddockCommand.execute()
