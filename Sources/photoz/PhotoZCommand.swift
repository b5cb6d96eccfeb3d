import ArgumentParser
import PhotoZData
import SafeOutput

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
            SelectCommand.self,
            SplitCommand.self,
            MergeCommand.self,
            TableCommand.self,
            ConvertCommand.self,
            ExportCommand.self,
        ]
    )

    /// Parses and runs the command. An output refused while running (`SafeOutputError.usage`:
    /// found to exist, or created meanwhile) exits 64, as the same refusal in `validate()` does.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let error as SafeOutputError where error.kind == .usage {
            printError("Error: \(error)")
            exit(withError: ExitCode(64))
        } catch let error as CatalogColumnError {
            // The data layer says what is wrong with the column; the CLI names its own flag.
            printError("Error: \(error); choose the column with \(CatalogColumnOptions.flag(for: error.role))")
            exit(withError: ExitCode(1))
        } catch {
            exit(withError: error)
        }
    }
}
