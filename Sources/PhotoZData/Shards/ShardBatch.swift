/// Rows of a shard held in memory, in schema order: images (n, 5, S, S) and the 1-D columns.
public struct ShardBatch: Sendable {
    public var imageSize: Int
    public var images: [Float]          // (n, 5, S, S)
    public var objectID: [Int64]        // (n)
    public var ra: [Double]             // (n)
    public var dec: [Double]            // (n)
    public var zSpec: [Float]           // (n)
    public var zSpecErr: [Float]        // (n)
    public var ebv: [Float]             // (n)

    public init(imageSize: Int, capacity: Int = 0) {
        self.imageSize = imageSize
        images = []
        objectID = []
        ra = []
        dec = []
        zSpec = []
        zSpecErr = []
        ebv = []
        reserveCapacity(capacity)
    }

    public var count: Int { objectID.count }
    public var pixelsPerImage: Int { 5 * imageSize * imageSize }

    public mutating func reserveCapacity(_ n: Int) {
        images.reserveCapacity(n * pixelsPerImage)
        objectID.reserveCapacity(n)
        ra.reserveCapacity(n)
        dec.reserveCapacity(n)
        zSpec.reserveCapacity(n)
        zSpecErr.reserveCapacity(n)
        ebv.reserveCapacity(n)
    }

    /// Appends one object; `image` holds 5 × S × S floats.
    public mutating func append(entry: CatalogEntry, image: UnsafeBufferPointer<Float>) {
        precondition(image.count == pixelsPerImage, "image must hold 5 × S × S floats")
        images.append(contentsOf: image)
        appendWithoutImage(entry: entry)
    }

    /// Appends rows `range` of `other`, whose images are read from `images` (rows of `other`,
    /// in order) rather than from `other.images`.
    public mutating func append(rows range: Range<Int>, of other: ShardBatch, images source: UnsafeBufferPointer<Float>) {
        images.append(contentsOf: UnsafeBufferPointer(rebasing: source[range.lowerBound * pixelsPerImage..<range.upperBound * pixelsPerImage]))
        appendWithoutImages(rows: range, of: other)
    }

    /// Appends the columns of rows `range` of `other` but not their images (see `appendWithoutImage`).
    mutating func appendWithoutImages(rows range: Range<Int>, of other: ShardBatch) {
        objectID.append(contentsOf: other.objectID[range])
        ra.append(contentsOf: other.ra[range])
        dec.append(contentsOf: other.dec[range])
        zSpec.append(contentsOf: other.zSpec[range])
        zSpecErr.append(contentsOf: other.zSpecErr[range])
        ebv.append(contentsOf: other.ebv[range])
    }

    /// Appends one object's columns but not its image: for batches whose images are held
    /// elsewhere and handed over beside them (see `ShardWriter.append(_:images:)`).
    mutating func appendWithoutImage(entry: CatalogEntry) {
        objectID.append(entry.objectID)
        ra.append(entry.ra)
        dec.append(entry.dec)
        zSpec.append(entry.zSpec)
        zSpecErr.append(entry.zSpecErr)
        ebv.append(entry.ebv)
    }

    /// Drops the first `n` rows (the arrays keep their capacity).
    public mutating func discardFirst(_ n: Int) {
        images.removeFirst(n * pixelsPerImage)
        objectID.removeFirst(n)
        ra.removeFirst(n)
        dec.removeFirst(n)
        zSpec.removeFirst(n)
        zSpecErr.removeFirst(n)
        ebv.removeFirst(n)
    }

    /// Removes every row, keeping the arrays' capacity.
    public mutating func removeAll() {
        images.removeAll(keepingCapacity: true)
        objectID.removeAll(keepingCapacity: true)
        ra.removeAll(keepingCapacity: true)
        dec.removeAll(keepingCapacity: true)
        zSpec.removeAll(keepingCapacity: true)
        zSpecErr.removeAll(keepingCapacity: true)
        ebv.removeAll(keepingCapacity: true)
    }

    /// Moves the first `n` rows out of the batch.
    public mutating func removeFirst(_ n: Int) -> ShardBatch {
        var head = ShardBatch(imageSize: imageSize)
        head.images = Array(images[0..<n * pixelsPerImage])
        head.objectID = Array(objectID[0..<n])
        head.ra = Array(ra[0..<n])
        head.dec = Array(dec[0..<n])
        head.zSpec = Array(zSpec[0..<n])
        head.zSpecErr = Array(zSpecErr[0..<n])
        head.ebv = Array(ebv[0..<n])
        discardFirst(n)
        return head
    }
}
