import Foundation
import Testing
@testable import PhotoZData

@Suite struct SupportTests {
    @Test func sha256MatchesKnownVectors() throws {
        #expect(SHA256.hexDigest(of: Data("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256.hexDigest(of: Data()) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        let long = Data((0..<1_000_003).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        // Reference from the system's sha256sum.
        let dir = TemporaryDirectory()
        FileManager.default.createFile(atPath: dir.file("x"), contents: long)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        process.arguments = [dir.file("x")]
        let pipe = Pipe()
        process.standardOutput = pipe
        try? process.run()
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(try SHA256.hexDigest(ofFile: dir.file("x")) == String(text.prefix(64)))
    }

    @Test func sha256StreamsInPiecesOfAnySize() {
        // FIPS 180-2 test vectors, fed in uneven pieces.
        let message = Data("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)
        var hash = SHA256()
        hash.update(message.prefix(5))
        hash.update(Data())
        hash.update(message.dropFirst(5))
        #expect(hash.finalizeHex() == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        var million = SHA256()
        let a = Data(repeating: UInt8(ascii: "a"), count: 9_999)
        for _ in 0..<100 { million.update(a) }
        million.update(Data(repeating: UInt8(ascii: "a"), count: 100))
        #expect(million.finalizeHex() == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test func splitsDependOnlyOnTheIDAndFollowTheFractions() throws {
        let fractions = try SplitFractions(parsing: "80/10/10")
        let ids = (0..<20_000).map { Int64(1_237_650_000_000_000_000 + $0 * 7) }
        let splits = ids.map(fractions.split(of:))
        #expect(splits == ids.reversed().map(fractions.split(of:)).reversed())
        let train = Double(splits.filter { $0 == .train }.count) / Double(ids.count)
        let valid = Double(splits.filter { $0 == .valid }.count) / Double(ids.count)
        #expect(abs(train - 0.8) < 0.01)
        #expect(abs(valid - 0.1) < 0.01)
        #expect(try SplitFractions(parsing: "0.5,0.25,0.25") == SplitFractions(train: 0.5, valid: 0.25, test: 0.25))
        #expect(throws: PhotoZDataError.self) { try SplitFractions(parsing: "80/20") }
        #expect(throws: PhotoZDataError.self) { try SplitFractions(parsing: "80/-10/30") }
    }

    @Test func bandsAreReadFromFITSNames() {
        #expect(Band(fitsName: "r") == .r)
        #expect(Band(fitsName: "SDSS_G") == .g)
        #expect(Band(fitsName: " z ") == .z)
        #expect(Band(fitsName: "i'") == .i)
        #expect(Band(fitsName: "x") == nil)
        #expect(Band(fitsName: "PRIMARY") == nil)
    }

    @Test func compressionOptionsParse() throws {
        #expect(try ShardCompression(parsing: "none") == .none)
        #expect(try ShardCompression(parsing: "gzip") == .gzip(4))
        #expect(try ShardCompression(parsing: "gzip:9") == .gzip(9))
        #expect(throws: PhotoZDataError.self) { try ShardCompression(parsing: "gzip:12") }
        #expect(throws: PhotoZDataError.self) { try ShardCompression(parsing: "lzf") }
    }
}
