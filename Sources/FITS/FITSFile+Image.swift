import CFITSIO

// Images in the current HDU: shape, type, reading (whole, into a buffer, a section), writing.

extension FITSFile {
    /// The image dimensions `[NAXIS1, NAXIS2, …]`, NAXIS1 varying fastest in pixel arrays;
    /// empty for a header-only HDU (NAXIS = 0).
    ///
    /// Throws when the current HDU is a table. The corresponding C function is `ffgiszll`.
    public func imageShape() throws -> [Int] {
        try cImageShape()
    }

    /// The equivalent BITPIX of the current image (8, 16, 32, 64, -32, -64, or 20/40/80 for
    /// unsigned types from BZERO offsets) once BSCALE/BZERO are taken into account: BITPIX 16
    /// with a non-integer BSCALE reads as -32.
    ///
    /// The corresponding C function is `ffgiet` (`fits_get_img_equivtype`).
    public func imageBitpix() throws -> Int {
        try cImageEquivalentBitpix()
    }

    /// The whole current image as Float32, BSCALE/BZERO applied, NAXIS1 varying fastest;
    /// undefined integer pixels (BLANK) become NaN. Empty for NAXIS = 0.
    ///
    /// The corresponding C function is `ffgpv`.
    /// Throws before allocating anything when the header declares more data than the file
    /// holds, or a tile-compressed image of more than `maximumPixelsOfCompressedImage` pixels.
    public func readImage() throws -> [Float] {
        let shape = try cImageShape()
        // Checked as the read itself (ffgpv) would fail, but before the buffer is allocated.
        let count = try pixelCount(shape, "ffgpv", "cannot read image")
        try checkDataInFile("ffgpv", "cannot read image")
        if count > Self.maximumPixelsOfCompressedImage, try cIsCompressedImage() {
            throw ownError("ffgpv", "cannot read image",
                           "the tile-compressed image \(shape) has \(count) pixels, more than the \(Self.maximumPixelsOfCompressedImage) photoz reads whole; read sections of it")
        }
        return try [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            if count > 0 { try cReadPixels(into: buffer.baseAddress!, count: count) }
            initialized = count
        }
    }

    /// Reads the whole current image into `buffer` without allocating: BSCALE/BZERO applied,
    /// NAXIS1 varying fastest, BLANK pixels NaN; cfitsio converts straight into the buffer.
    ///
    /// Throws when `buffer.count` differs from the image's pixel count.
    /// The corresponding C function is `ffgpv`.
    public func readImage(into buffer: UnsafeMutableBufferPointer<Float>) throws {
        let shape = try cImageShape()
        let count = try pixelCount(shape, "readImage(into:)", "cannot read image")
        guard buffer.count == count else {
            throw ownError("readImage(into:)", "cannot read image",
                           "the buffer holds \(buffer.count) pixels but the image \(shape) has \(count)")
        }
        if count > 0 { try cReadPixels(into: buffer.baseAddress!, count: count) }
    }

    /// Reads a rectangular section of the current image: one 0-based half-open range per axis,
    /// in FITS order (NAXIS1 first). The result has NAXIS1 varying fastest, scaled like `readImage()`.
    ///
    /// Throws when the number of ranges differs from NAXIS or a range leaves the image.
    /// The corresponding C function is `ffgsv`.
    public func readImageSection(_ ranges: [Range<Int>]) throws -> [Float] {
        let shape = try cImageShape()
        guard ranges.count == shape.count else {
            throw ownError("readImageSection", "cannot read image section",
                           "\(ranges.count) ranges given for an image with \(shape.count) axes (shape \(shape))")
        }
        for (axis, (range, size)) in zip(ranges, shape).enumerated() where range.lowerBound < 0 || range.upperBound > size {
            throw ownError("readImageSection", "cannot read image section",
                           "range \(range) of axis \(axis + 1) (NAXIS\(axis + 1)) lies outside 0..<\(size)")
        }
        let count = try pixelCount(ranges.map(\.count), "readImageSection", "cannot read image section")
        guard count > 0 else { return [] }
        return try [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            try cReadSection(first: ranges.map { $0.lowerBound + 1 }, last: ranges.map { $0.upperBound }, into: buffer.baseAddress!)
            initialized = count
        }
    }

    /// Appends an image HDU (the primary HDU when the file is empty) of the given BITPIX and
    /// shape `[NAXIS1, NAXIS2, …]`, and makes it current.
    ///
    /// With `compression`, the image is tile-compressed as `fpack` does (a BINTABLE extension
    /// that reads back as an image; the primary HDU of an empty file stays header-only).
    /// The corresponding C function is `ffcrimll` (with `fits_set_compression_type`).
    public func createImage(bitpix: Int = -32, shape: [Int], compression: FITSTileCompression? = nil) throws {
        precondition([8, 16, 32, 64, -32, -64].contains(bitpix), "BITPIX must be 8, 16, 32, 64, -32 or -64, not \(bitpix)")
        precondition(shape.allSatisfy { $0 >= 0 }, "image axes must be non-negative: \(shape)")
        precondition(!(compression == .rice && bitpix < 0), "lossless Rice compression needs an integer BITPIX; use .gzip for BITPIX \(bitpix)")
        try requireWritable("cannot create image HDU")
        try cCreateImage(bitpix: bitpix, shape: shape, compression: compression)
    }

    /// Writes the whole current image from Float32 pixels, NAXIS1 varying fastest. For integer
    /// BITPIX, BSCALE/BZERO written to the header before this call are applied in reverse
    /// (stored = round((pixel − BZERO) / BSCALE)).
    ///
    /// Throws when the pixel count differs from the image's, when the file is read-only, and
    /// when a pixel does not fit the integer BITPIX. The corresponding C function is `ffppr`.
    public func writeImage(_ pixels: [Float]) throws {
        try requireWritable("cannot write image")
        let shape = try cImageShape()
        let count = try pixelCount(shape, "writeImage", "cannot write image")
        guard pixels.count == count else {
            throw ownError("writeImage", "cannot write image",
                           "\(pixels.count) pixels given for an image \(shape) of \(count) pixels")
        }
        guard count > 0 else { return }
        let bitpix = try cImageStoredBitpix()
        if bitpix > 0, try cIsCompressedImage() {
            // cfitsio refuses to convert types while compressing: scale and round here.
            switch bitpix {
            case 8: try writeStored(pixels, as: UInt8.self, type: TBYTE)
            case 16: try writeStored(pixels, as: Int16.self, type: TSHORT)
            case 32: try writeStored(pixels, as: Int32.self, type: TINT)
            default: try writeStored(pixels, as: Int64.self, type: TLONGLONG)
            }
        } else {
            try pixels.withUnsafeBytes { try cWritePixels($0.baseAddress!, type: TFLOAT, count: count, scaled: true) }
        }
    }

    /// Writes pixels as the stored integers `round((pixel − BZERO) / BSCALE)` of type `T`.
    private func writeStored<T: FixedWidthInteger>(_ pixels: [Float], as _: T.Type, type: Int32) throws {
        let scale = try double("BSCALE") ?? 1
        let zero = try double("BZERO") ?? 0
        let stored = try pixels.enumerated().map { index, pixel in
            let value = ((Double(pixel) - zero) / scale).rounded()
            guard value.isFinite, let integer = T(exactly: value) else {
                throw ownError("writeImage", "cannot write image",
                               "pixel \(index) = \(pixel) does not fit BITPIX \(T.bitWidth) with BSCALE \(scale), BZERO \(zero)")
            }
            return integer
        }
        try stored.withUnsafeBytes { try cWritePixels($0.baseAddress!, type: type, count: stored.count, scaled: false) }
    }

    /// A tile-compressed image's pixels are not bounded by the file's size (a few bytes of
    /// tiles may declare any shape), so reading one whole is capped: 2^28 pixels, 1 GiB of Float.
    public static let maximumPixelsOfCompressedImage = 1 << 28

    /// The number of pixels of an image of this shape (0 for NAXIS = 0); throws when the
    /// product of the axes overflows (a corrupt header).
    private func pixelCount(_ shape: [Int], _ function: String, _ operation: String) throws -> Int {
        guard !shape.isEmpty else { return 0 }
        var count = 1
        for length in shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: length)
            guard !overflow, length >= 0 else {
                throw ownError(function, operation, "the axes \(shape) multiply to more pixels than 64-bit sizes hold: the header is corrupt")
            }
            count = product
        }
        return count
    }
}
