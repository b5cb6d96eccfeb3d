// swift-tools-version: 6.1
// photoz: photometric redshifts with CNNs on multi-band galaxy images, and their robustness.
import PackageDescription

let package = Package(
    name: "photoz",
    products: [
        .executable(name: "photoz", targets: ["photoz"]),
        .library(name: "PhotoZ", targets: ["PhotoZ"]),
        .library(name: "PhotoZData", targets: ["PhotoZData"]),
        .library(name: "NeuralNet", targets: ["NeuralNet"]),
        .library(name: "FITS", targets: ["FITS"]),
        .library(name: "HDF5", targets: ["HDF5"]),
        .library(name: "SafeOutput", targets: ["SafeOutput"]),
        .library(name: "WCS", targets: ["WCS"]),
    ],
    dependencies: [
        // Declarative command-line parsing; the only Swift dependency of the tool.
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // C libraries from Debian, each behind a module map and a tiny shim header.
        .systemLibrary(name: "CFITSIO", pkgConfig: "cfitsio", providers: [.apt(["libcfitsio-dev"])]),
        .systemLibrary(name: "CHDF5", pkgConfig: "hdf5", providers: [.apt(["libhdf5-dev"])]),
        .systemLibrary(name: "CDeflate", pkgConfig: "libdeflate", providers: [.apt(["libdeflate-dev"])]),
        .systemLibrary(name: "CDNNL", providers: [.apt(["libdnnl-dev"])]),
        .systemLibrary(name: "CCrypto", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CWCS", pkgConfig: "wcslib", providers: [.apt(["wcslib-dev"])]),
        .systemLibrary(name: "CBZip2", providers: [.apt(["libbz2-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CMPI", pkgConfig: "ompi-c", providers: [.apt(["libopenmpi-dev"])]),

        // Walks an untrusted file's metadata with libhdf5 or cfitsio in a forked child process
        // (C only: the parent may be multithreaded), so their crashes on corrupt files end the child.
        .target(name: "CIsolatedCheck", dependencies: ["CHDF5", "CFITSIO"], exclude: ["README.md"]),

        // Safe Swift layers over the C libraries.
        .target(name: "FITS", dependencies: ["CFITSIO", "CIsolatedCheck"], exclude: ["README.md"]),
        .target(name: "HDF5", dependencies: ["CHDF5", "CDeflate", "CIsolatedCheck"], exclude: ["README.md"]),
        // World coordinates of any celestial FITS WCS (frames for cutouts, dust maps) via wcslib.
        .target(name: "WCS", dependencies: ["CWCS"], exclude: ["README.md"]),

        // The one owner of output files: atomic files, staged folders, locks, the --out rules,
        // leftovers of killed runs and provenance (Foundation and Glibc only, so every target can use it).
        .target(name: "SafeOutput", exclude: ["README.md"]),
        .target(name: "MPI", dependencies: ["CMPI"], exclude: ["README.md"]),

        // AVX2 kernels of the cutout resampling, chosen at run time (baseline build, as CNeuralKernels).
        .target(name: "CResampleKernels"),
        // Catalogs, cutout layouts, the shard schema, ingest and the simulated sky.
        .target(name: "PhotoZData", dependencies: ["FITS", "HDF5", "CCrypto", "SafeOutput", "WCS", "CBZip2", "CZlib", "CResampleKernels"]),
        // The simulated SDSS-like sky: SED photometry, morphology, noise, FITS cutouts and catalogs.
        .target(name: "SkySim", dependencies: ["PhotoZData", "FITS", "SafeOutput"], exclude: ["README.md"], resources: [.copy("Resources")]),
        // AVX-512 kernels of NeuralNet's own layers, chosen at run time (the package itself is
        // built for the x86-64 baseline: no unsafe flags).
        .target(name: "CNeuralKernels"),
        // Tensors, layers, losses, optimizers and model files over oneDNN.
        .target(name: "NeuralNet", dependencies: ["CDNNL", "CNeuralKernels", "HDF5", "SafeOutput"], exclude: ["README.md"]),
        // The photo-z networks, training, prediction, metrics and attacks.
        .target(name: "PhotoZ", dependencies: ["PhotoZData", "NeuralNet", "SkySim", "SafeOutput", "MPI"]),

        .executableTarget(
            name: "photoz",
            dependencies: ["PhotoZ", "PhotoZData", "SkySim", "SafeOutput", "MPI", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),

        // The MPI tests that need several processes: run alone, it launches itself under mpirun (scripts/test).
        .executableTarget(name: "photoz-mpi-tests", dependencies: ["MPI", "PhotoZ", "NeuralNet", "PhotoZData"], path: "Tests/photoz-mpi-tests"),

        .testTarget(name: "FITSTests", dependencies: ["FITS"]),
        .testTarget(name: "HDF5Tests", dependencies: ["HDF5"]),
        .testTarget(name: "WCSTests", dependencies: ["WCS"]),
        .testTarget(name: "MPITests", dependencies: ["MPI"]),
        .testTarget(name: "PhotoZDataTests", dependencies: ["PhotoZData", "FITS", "HDF5", "SafeOutput"], exclude: ["Fixtures"]),
        .testTarget(name: "SkySimTests", dependencies: ["SkySim", "PhotoZData", "FITS"]),
        .testTarget(name: "NeuralNetTests", dependencies: ["NeuralNet", "HDF5"], resources: [.copy("Fixtures")]),
        .testTarget(name: "PhotoZTests", dependencies: ["PhotoZ", "MPI"]),
        .testTarget(name: "photozTests", dependencies: ["photoz"]),
        .testTarget(name: "SafeOutputTests", dependencies: ["SafeOutput"]),
    ]
)
