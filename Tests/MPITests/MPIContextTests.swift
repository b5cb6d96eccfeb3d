import Foundation
import Testing
@testable import MPI

/// The MPI layer in a process started alone (what every `photoz` run without mpirun gets), and
/// how a launch is recognised. The collectives across processes are tested by photoz-mpi-tests
/// under mpirun (scripts/test).
@Suite("MPI context")
struct MPIContextTests {
    @Test("A launcher is recognised from the variables mpirun, PMIx and PMI-2 set; Slurm tasks without them are refused")
    func launchKind() {
        #expect(LaunchKind(environment: [:]) == .alone)
        #expect(LaunchKind(environment: ["OMPI_COMM_WORLD_SIZE": "2", "OMPI_COMM_WORLD_RANK": "1"]) == .launcher)
        #expect(LaunchKind(environment: ["PMIX_RANK": "0"]) == .launcher)
        #expect(LaunchKind(environment: ["PMI_RANK": "3", "PMI_SIZE": "4"]) == .launcher)
        #expect(LaunchKind(environment: ["SLURM_STEP_NUM_TASKS": "1", "SLURM_PROCID": "0"]) == .alone)  // sbatch + one task
        #expect(LaunchKind(environment: ["SLURM_STEP_NUM_TASKS": "4", "SLURM_PROCID": "2"]) == .slurmWithoutMPI(tasks: 4))
        #expect(LaunchKind(environment: ["SLURM_STEP_NUM_TASKS": "4", "PMIX_RANK": "2"]) == .launcher)
    }

    @Test("Four Slurm tasks without an MPI plugin: an error that says how to launch")
    func slurmWithoutPlugin() {
        let error = #expect(throws: MPIError.self) {
            _ = try MPIContext.start(environment: ["SLURM_STEP_NUM_TASKS": "4", "SLURM_PROCID": "2"])
        }
        #expect(error?.description.contains("one of 4 Slurm tasks") == true)
        #expect(error?.description.contains("srun --mpi=pmix") == true)
    }

    @Test("Alone: rank 0 of 1, libmpi untouched, every collective returns this process's values")
    func alone() throws {
        let context = try MPIContext.start(environment: [:])
        #expect(context.rank == 0 && context.size == 1 && !context.isDistributed && context.isRoot)
        #expect(try MPIContext.start(environment: [:]) === context)  // once per process
        try context.barrier()
        var values: [Float] = [1, -2, .infinity]
        try context.allreduce(&values, .sum)
        #expect(values == [1, -2, .infinity])
        #expect(try context.allreduce(Int64(7), .max) == 7)
        var fromRoot: [Double] = [3, 4]
        try context.broadcast(&fromRoot)
        #expect(fromRoot == [3, 4])
        struct Config: Codable, Equatable { var epochs: Int; var name: String }
        #expect(try context.broadcast(Config(epochs: 3, name: "a"), root: 0) == Config(epochs: 3, name: "a"))
        #expect(try context.gather([Int64(5), 6]) == [5, 6])
        try values.withUnsafeMutableBufferPointer { buffer in
            let request = try context.startAllreduce(buffer, .sum)
            #expect(try request.test())
            try request.wait()
        }
        try context.finish()  // nothing to finish without MPI
    }

    @Test("Errors name the rank, the MPI function and MPI's message")
    func errorText() {
        let error = MPIError(function: "MPI_Allreduce", rank: 1, size: 4, summary: "cannot reduce 10 values across the ranks",
                             code: 15, message: "MPI_ERR_TRUNCATE: message truncated")
        #expect(error.description == "MPI rank 1 of 4: cannot reduce 10 values across the ranks (MPI_Allreduce): MPI_ERR_TRUNCATE: message truncated")
    }

    @Test("bfloat16: nearest value, ties to even, infinities and NaN kept")
    func bfloat16() {
        #expect(MPIBFloat16(1).bits == 0x3F80 && MPIBFloat16(-2).bits == 0xC000)
        #expect(MPIBFloat16(Float(bitPattern: 0x3F80_8000)).bits == 0x3F80)  // tie: to the even 0x3F80
        #expect(MPIBFloat16(Float(bitPattern: 0x3F81_8000)).bits == 0x3F82)  // tie: to the even 0x3F82
        #expect(MPIBFloat16(Float(bitPattern: 0x3F80_8001)).bits == 0x3F81)  // above the tie: up
        #expect(MPIBFloat16(.infinity).float == .infinity && MPIBFloat16(-.infinity).float == -.infinity)
        #expect(MPIBFloat16(.nan).float.isNaN && MPIBFloat16(Float(bitPattern: 0x7F80_0001)).float.isNaN)
        #expect(MPIBFloat16(.greatestFiniteMagnitude).float == .infinity)  // rounds past the largest bfloat16
        for x: Float in [0.1, -3.14159, 1e-20, 6.5e4, 1e30] {
            #expect(abs(MPIBFloat16(x).float - x) <= abs(x) * 0x1p-8)
        }
    }
}
