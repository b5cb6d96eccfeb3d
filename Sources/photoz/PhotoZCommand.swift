import ArgumentParser

@main
struct PhotoZCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "photoz",
        abstract: "Photometric redshifts with CNNs on multi-band galaxy images, and their robustness.",
        version: "0.1.0",
        subcommands: [
            BenchCommand.self,
            DemoCommand.self,
            IngestCommand.self,
            CutoutCommand.self,
            SimulateCommand.self,
            InspectCommand.self,
            ValidateCommand.self,
            TrainCommand.self,
            PredictCommand.self,
            EvaluateCommand.self,
            AttackCommand.self,
            RobustnessCommand.self,
            ExportFitsCommand.self,
            AttackBenchCommand.self,
            BaselineCommand.self,
        ]
    )
}
