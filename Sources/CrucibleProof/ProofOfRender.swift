import CrucibleCore
import Foundation

/// A rectangle of a frame in pixels, from the frame's top-left corner (PNG's row order).
public struct FrameCrop: Codable, Sendable, Equatable, Hashable, CustomStringConvertible {
    public var x: Int
    public var y: Int
    public var width: Int
    public var height: Int

    public init(x: Int, y: Int, width: Int, height: Int) {
        self.x = x
        self.y = y
        self.width = width
        self.height = height
    }

    public var pixels: Int { width * height }

    /// The most tiles one check may have.
    public static let tilesMax = 256
    public var description: String { "\(width)×\(height) at (\(x), \(y))" }

    /// Whether the rectangle is non-empty and lies inside a `frameWidth`×`frameHeight` frame.
    public func fits(frameWidth: Int, frameHeight: Int) -> Bool {
        width > 0 && height > 0 && x >= 0 && y >= 0 && x + width <= frameWidth && y + height <= frameHeight
    }
}

/// Proof of render (ARCHITECTURE §5): a validator re-renders small tiles scattered over a sampled frame with the same
/// scene, seed and settings, and every tile must match the submitted frame's pixels there within a PSNR threshold.
/// Cycles with a fixed seed and dithering off gives the same pixels for a border render as for the whole frame, so on
/// one build an honest tile matches exactly; a frame rendered with fewer samples, from another frame, or not at all
/// does not. Many small tiles rather than one crop of the same area: flat parts of a frame (sky, a lit wall) look the
/// same at any sample count, and one crop that lands there proves little; sixteen scattered tiles almost never all do.
public enum ProofOfRender {
    /// `tiles` rectangles covering about `areaPpm` of the frame between them, each with the frame's aspect, placed
    /// independently at random. Drawn only after the frame was submitted, so a node cannot know which parts of its
    /// frame will be checked.
    public static func drawCrops(
        frameWidth: Int, frameHeight: Int, areaPpm: Int, tiles: Int, using generator: inout some RandomNumberGenerator
    ) -> [FrameCrop] {
        let share = Double(max(1, min(areaPpm, 1_000_000))) / 1_000_000 / Double(max(1, tiles))
        let side = share.squareRoot()
        let width = max(1, min(frameWidth, Int((Double(frameWidth) * side).rounded())))
        let height = max(1, min(frameHeight, Int((Double(frameHeight) * side).rounded())))
        return (0..<max(1, tiles)).map { _ in
            FrameCrop(
                x: Int.random(in: 0...(frameWidth - width), using: &generator), y: Int.random(in: 0...(frameHeight - height), using: &generator),
                width: width, height: height
            )
        }
    }

    /// How a checking run's tiles compared with the pixels they check: the worst tile decides.
    public struct Comparison: Codable, Sendable, Equatable {
        /// The lowest peak signal-to-noise ratio over the tiles, in thousandths of a decibel; nil when every tile's
        /// pixels are identical (infinite).
        public var psnrMilliDb: Int64?
        /// Why they could not be compared (not a PNG, a different size or format, a missing file): counts as no match.
        public var failure: String?

        public init(psnrMilliDb: Int64? = nil, failure: String? = nil) {
            self.psnrMilliDb = psnrMilliDb
            self.failure = failure
        }

        /// Whether every tile matches at `minMilliDb` or better.
        public func matches(minMilliDb: Int64) -> Bool {
            failure == nil && (psnrMilliDb ?? .max) >= minMilliDb
        }

        public var describe: String {
            failure ?? psnrMilliDb.map { String(format: "%.2f dB", Double($0) / 1000) } ?? "identical"
        }
    }

    /// What a checking run's tiles are held against: the submitted frame, or another run's tiles of the same crops
    /// (an arbiter against a validator).
    public enum Reference: Sendable {
        case frame(Data?)
        case tiles([Data?])
    }

    /// Compares `candidates` (one PNG per crop, crop-sized) with `reference` at `crops`.
    public static func compare(reference: Reference, candidates: [Data?], crops: [FrameCrop], frameWidth: Int, frameHeight: Int) -> Comparison {
        guard !crops.isEmpty, candidates.count == crops.count else { return Comparison(failure: "\(candidates.count) tiles for \(crops.count) crops") }
        let expected: [PNGImage]
        switch reference {
        case .frame(let data):
            guard let data else { return Comparison(failure: "the submitted frame is missing") }
            do {
                let size = try PNGImage.size(of: data)
                guard size == (frameWidth, frameHeight) else {
                    return Comparison(failure: "the submitted frame is \(size.width)×\(size.height), not \(frameWidth)×\(frameHeight)")
                }
                expected = try PNGImage.decode(data, regions: crops)
            } catch {
                return Comparison(failure: "the submitted frame is unreadable: \(describe(error))")
            }
        case .tiles(let tiles):
            guard tiles.count == crops.count else { return Comparison(failure: "the other run has \(tiles.count) tiles for \(crops.count) crops") }
            var decoded = [PNGImage]()
            for (index, (tile, crop)) in zip(tiles, crops).enumerated() {
                switch decodeTile(tile, crop: crop, index: index, whose: "the other run's") {
                case .success(let image): decoded.append(image)
                case .failure(let comparison): return comparison
                }
            }
            expected = decoded
        }
        var worst: Int64?
        var identical = true
        for (index, (candidate, crop)) in zip(candidates, crops).enumerated() {
            let actual: PNGImage
            switch decodeTile(candidate, crop: crop, index: index, whose: "the checking") {
            case .success(let image): actual = image
            case .failure(let comparison): return comparison
            }
            guard actual.channels == expected[index].channels, actual.bitDepth == expected[index].bitDepth else {
                return Comparison(failure: "tile \(index) is \(actual.format), the frame \(expected[index].format)")
            }
            if let psnr = psnrMilliDb(expected[index].samples, actual.samples, sampleMax: expected[index].sampleMax) {
                identical = false
                worst = min(worst ?? .max, psnr)
            }
        }
        return Comparison(psnrMilliDb: identical ? nil : worst)
    }

    private enum Decoded {
        case success(PNGImage)
        case failure(Comparison)
    }

    private static func decodeTile(_ data: Data?, crop: FrameCrop, index: Int, whose: String) -> Decoded {
        guard let data else { return .failure(Comparison(failure: "\(whose) tile \(index) is missing")) }
        do {
            let image = try PNGImage.decode(data)
            guard (image.width, image.height) == (crop.width, crop.height) else {
                return .failure(Comparison(failure: "\(whose) tile \(index) is \(image.width)×\(image.height), not \(crop.width)×\(crop.height)"))
            }
            return .success(image)
        } catch {
            return .failure(Comparison(failure: "\(whose) tile \(index) is unreadable: \(describe(error))"))
        }
    }

    /// PSNR over every sample, scaled to the format's peak; nil when identical.
    public static func psnrMilliDb(_ a: [UInt16], _ b: [UInt16], sampleMax: Double) -> Int64? {
        precondition(a.count == b.count && !a.isEmpty)
        var sum = 0.0
        for (x, y) in zip(a, b) {
            let d = Double(x) - Double(y)
            sum += d * d
        }
        guard sum > 0 else { return nil }
        let mse = sum / Double(a.count)
        return Int64((10 * log10(sampleMax * sampleMax / mse) * 1000).rounded(.down))
    }

    private static func describe(_ error: any Error) -> String {
        (error as? CrucibleError)?.message ?? "\(error)"
    }
}
