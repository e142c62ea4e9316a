import CompressNIO
import CrucibleCore
import Foundation
import NIOCore

/// The pixels of a PNG frame, or of one rectangle of it, as proof of render reads them: non-interlaced greyscale,
/// RGB, grey+alpha or RGBA at 8 or 16 bits per sample (what Blender writes). Rows are decoded one at a time, so a
/// crop of a large frame holds only the crop in memory.
public struct PNGImage: Sendable, Equatable {
    /// The whole image's size, whatever part of it was kept.
    public var width: Int
    public var height: Int
    public var channels: Int
    public var bitDepth: Int
    /// The rectangle kept, and its samples row by row from its top-left, channels interleaved.
    public var region: FrameCrop
    public var samples: [UInt16]

    /// Frames larger than this (about a 16K frame) are refused rather than decoded.
    public static let pixelsMax = 16_384 * 16_384

    /// The largest value a sample takes: what the comparison scales by.
    public var sampleMax: Double { bitDepth == 16 ? 65_535 : 255 }

    /// "RGB 8-bit" and the like, for a comparison's reasons.
    public var format: String {
        "\([1: "grey", 2: "grey+alpha", 3: "RGB", 4: "RGBA"][channels] ?? "\(channels)-channel") \(bitDepth)-bit"
    }

    /// The image's width and height from its header alone, without inflating anything.
    public static func size(of data: Data) throws -> (width: Int, height: Int) {
        let bytes = [UInt8](data.prefix(24))
        guard bytes.count == 24, bytes[0..<8].elementsEqual([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) else {
            throw CrucibleError(.malformed, "not a PNG file")
        }
        guard String(decoding: bytes[12..<16], as: UTF8.self) == "IHDR" else { throw CrucibleError(.malformed, "PNG has no header") }
        func readUInt32(_ at: Int) -> Int { Int(bytes[at]) << 24 | Int(bytes[at + 1]) << 16 | Int(bytes[at + 2]) << 8 | Int(bytes[at + 3]) }
        return (readUInt32(16), readUInt32(20))
    }

    /// Decodes `data`, keeping `region` (the whole image when nil). Throws with the reason for anything that is not
    /// such a PNG, or a region outside it.
    public static func decode(_ data: Data, region: FrameCrop? = nil) throws -> PNGImage {
        try decode(data, regions: region.map { [$0] } ?? [])[0]
    }

    /// Decodes `data` once, keeping each of `regions` (the whole image when empty), in order.
    public static func decode(_ data: Data, regions requested: [FrameCrop]) throws -> [PNGImage] {
        func fail(_ message: String) -> CrucibleError { CrucibleError(.malformed, message) }
        let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        let bytes = [UInt8](data)
        guard bytes.count > 8, Array(bytes[0..<8]) == signature else { throw fail("not a PNG file") }
        var offset = 8
        var header: (width: Int, height: Int, bitDepth: Int, colorType: Int)?
        var compressed = ByteBuffer()
        var ended = false
        func readUInt32(_ at: Int) -> Int {
            Int(bytes[at]) << 24 | Int(bytes[at + 1]) << 16 | Int(bytes[at + 2]) << 8 | Int(bytes[at + 3])
        }
        while offset + 12 <= bytes.count, !ended {
            let length = readUInt32(offset)
            let type = String(decoding: bytes[(offset + 4)..<(offset + 8)], as: UTF8.self)
            let start = offset + 8
            guard length <= bytes.count - start - 4 else { throw fail("PNG chunk \(type) runs past the end of the file") }
            let body = bytes[start..<(start + length)]
            switch type {
            case "IHDR":
                guard length == 13 else { throw fail("PNG header has the wrong length") }
                let at = body.startIndex
                let width = readUInt32(at), height = readUInt32(at + 4)
                let bitDepth = Int(bytes[at + 8]), colorType = Int(bytes[at + 9]), interlace = Int(bytes[at + 12])
                guard width > 0, height > 0, width <= pixelsMax / height else { throw fail("a \(width)×\(height) PNG is outside what is compared") }
                guard [0, 2, 4, 6].contains(colorType) else { throw fail("PNG colour type \(colorType) (palette) is not compared") }
                guard bitDepth == 8 || bitDepth == 16 else { throw fail("PNG bit depth \(bitDepth) is not compared") }
                guard interlace == 0 else { throw fail("interlaced PNGs are not compared") }
                header = (width, height, bitDepth, colorType)
            case "IDAT":
                compressed.writeBytes(body)
            case "IEND":
                ended = true
            default:
                break
            }
            offset = start + length + 4
        }
        guard let header else { throw fail("PNG has no header") }
        guard compressed.readableBytes > 0 else { throw fail("PNG has no image data") }
        let channels = [0: 1, 2: 3, 4: 2, 6: 4][header.colorType]!
        let regions = requested.isEmpty ? [FrameCrop(x: 0, y: 0, width: header.width, height: header.height)] : requested
        for region in regions where !region.fits(frameWidth: header.width, frameHeight: header.height) {
            throw fail("region \(region) lies outside the \(header.width)×\(header.height) image")
        }

        let bytesPerPixel = channels * header.bitDepth / 8
        let rowBytes = header.width * bytesPerPixel
        var previous = [UInt8](repeating: 0, count: rowBytes)
        var current = [UInt8](repeating: 0, count: rowBytes)
        var pending = [UInt8]()
        pending.reserveCapacity(rowBytes + 1 + 65_536)
        var row = 0
        var samples = regions.map { region -> [UInt16] in
            var kept = [UInt16]()
            kept.reserveCapacity(region.width * region.height * channels)
            return kept
        }

        func take(_ chunk: ByteBuffer) throws {
            pending.append(contentsOf: chunk.readableBytesView)
            var consumed = 0
            while pending.count - consumed >= rowBytes + 1, row < header.height {
                let filter = pending[consumed]
                let line = consumed + 1
                for i in 0..<rowBytes {
                    let raw = pending[line + i]
                    let left: UInt8 = i >= bytesPerPixel ? current[i - bytesPerPixel] : 0
                    let up = previous[i]
                    let upLeft: UInt8 = i >= bytesPerPixel ? previous[i - bytesPerPixel] : 0
                    let predicted: UInt8
                    switch filter {
                    case 0: predicted = 0
                    case 1: predicted = left
                    case 2: predicted = up
                    case 3: predicted = UInt8((Int(left) + Int(up)) / 2)
                    case 4: predicted = paeth(left, up, upLeft)
                    default: throw fail("PNG row \(row) has unknown filter \(filter)")
                    }
                    current[i] = raw &+ predicted
                }
                for (index, region) in regions.enumerated() where row >= region.y && row < region.y + region.height {
                    let from = region.x * bytesPerPixel, to = (region.x + region.width) * bytesPerPixel
                    if header.bitDepth == 8 {
                        for i in from..<to { samples[index].append(UInt16(current[i])) }
                    } else {
                        for i in stride(from: from, to: to, by: 2) { samples[index].append(UInt16(current[i]) << 8 | UInt16(current[i + 1])) }
                    }
                }
                swap(&previous, &current)
                row += 1
                consumed += rowBytes + 1
            }
            pending.removeFirst(consumed)
        }

        let decompressor = CompressionAlgorithm.zlib().decompressor
        decompressor.window = ByteBufferAllocator().buffer(capacity: 65_536)
        do {
            try decompressor.startStream()
            try compressed.decompressStream(with: decompressor) { try take($0) }
            try decompressor.finishStream()
        } catch let error as CrucibleError {
            throw error
        } catch {
            throw fail("PNG image data does not inflate: \(error)")
        }
        guard row == header.height else { throw fail("PNG image data ends after \(row) of \(header.height) rows") }
        return zip(regions, samples).map {
            PNGImage(width: header.width, height: header.height, channels: channels, bitDepth: header.bitDepth, region: $0, samples: $1)
        }
    }

    /// Writes 8-bit RGBA pixels (row by row from the top-left) as a PNG, every row unfiltered, zlib-compressed.
    public static func encodeRGBA8(width: Int, height: Int, pixels: [UInt8]) throws -> Data {
        precondition(width > 0 && height > 0 && pixels.count == width * height * 4)
        var raw = ByteBufferAllocator().buffer(capacity: height * (width * 4 + 1))
        for row in 0..<height {
            raw.writeInteger(UInt8(0))
            raw.writeBytes(pixels[(row * width * 4)..<((row + 1) * width * 4)])
        }
        let compressed = try raw.compress(with: .zlib())
        func chunk(_ type: String, _ body: [UInt8]) -> [UInt8] {
            let tagged = Array(type.utf8) + body
            return bigEndian(UInt32(body.count)) + tagged + bigEndian(crc32(tagged))
        }
        let header = bigEndian(UInt32(width)) + bigEndian(UInt32(height)) + [8, 6, 0, 0, 0]
        let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        return Data(signature + chunk("IHDR", header) + chunk("IDAT", Array(compressed.readableBytesView)) + chunk("IEND", []))
    }

    private static func bigEndian(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
    }

    /// PNG's chunk checksum (CRC-32, polynomial 0xEDB88320), bit by bit: previews are small and rare.
    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return ~crc
    }

    private static func paeth(_ a: UInt8, _ b: UInt8, _ c: UInt8) -> UInt8 {
        let p = Int(a) + Int(b) - Int(c)
        let pa = abs(p - Int(a)), pb = abs(p - Int(b)), pc = abs(p - Int(c))
        if pa <= pb && pa <= pc { return a }
        return pb <= pc ? b : c
    }
}
