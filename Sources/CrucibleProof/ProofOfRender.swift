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
    public var description: String { "\(width)×\(height) at (\(x), \(y))" }

    /// Whether the rectangle is non-empty and lies inside a `frameWidth`×`frameHeight` frame.
    public func fits(frameWidth: Int, frameHeight: Int) -> Bool {
        width > 0 && height > 0 && x >= 0 && y >= 0 && x + width <= frameWidth && y + height <= frameHeight
    }
}

/// Proof of render (ARCHITECTURE §5): a validator re-renders one random crop of a sampled frame with the same scene,
/// seed and settings, and the crop must match the submitted frame's pixels there within a PSNR threshold. Cycles with
/// a fixed seed and dithering off gives the same pixels for a crop as for the whole frame, so on one build an honest
/// crop matches exactly; a frame rendered with fewer samples, from another frame, or not at all does not.
public enum ProofOfRender {
    /// A crop covering about `areaPpm` of the frame, with the frame's aspect, placed at random. Drawn only after the
    /// frame was submitted, so a node cannot know which part of its frame will be checked.
    public static func drawCrop(frameWidth: Int, frameHeight: Int, areaPpm: Int, using generator: inout some RandomNumberGenerator) -> FrameCrop {
        let side = (Double(max(1, min(areaPpm, 1_000_000))) / 1_000_000).squareRoot()
        let width = max(1, min(frameWidth, Int((Double(frameWidth) * side).rounded())))
        let height = max(1, min(frameHeight, Int((Double(frameHeight) * side).rounded())))
        return FrameCrop(
            x: Int.random(in: 0...(frameWidth - width), using: &generator), y: Int.random(in: 0...(frameHeight - height), using: &generator),
            width: width, height: height
        )
    }

    /// How a checking run's crop compared with the pixels it checks.
    public struct Comparison: Codable, Sendable, Equatable {
        /// Peak signal-to-noise ratio in thousandths of a decibel; nil when the pixels are identical (infinite).
        public var psnrMilliDb: Int64?
        /// Why the two could not be compared (not a PNG, a different size or format, no frame): counts as no match.
        public var failure: String?

        public init(psnrMilliDb: Int64? = nil, failure: String? = nil) {
            self.psnrMilliDb = psnrMilliDb
            self.failure = failure
        }

        /// Whether the crop matches at `minMilliDb` or better.
        public func matches(minMilliDb: Int64) -> Bool {
            failure == nil && (psnrMilliDb ?? .max) >= minMilliDb
        }

        public var describe: String {
            failure ?? psnrMilliDb.map { String(format: "%.2f dB", Double($0) / 1000) } ?? "identical"
        }
    }

    /// Compares `candidate` (a crop-sized PNG) with `reference`'s pixels at `crop`; `reference` is a whole
    /// `frameWidth`×`frameHeight` frame, or when `referenceIsCrop` another crop of the same rectangle.
    public static func compare(reference: Data?, candidate: Data?, crop: FrameCrop, frameWidth: Int, frameHeight: Int, referenceIsCrop: Bool) -> Comparison {
        guard let reference else { return Comparison(failure: referenceIsCrop ? "the other crop is missing" : "the submitted frame is missing") }
        guard let candidate else { return Comparison(failure: "the checking crop is missing") }
        let expected: PNGImage, actual: PNGImage
        do {
            expected = try PNGImage.decode(reference, region: referenceIsCrop ? nil : crop)
        } catch {
            return Comparison(failure: "the \(referenceIsCrop ? "other crop" : "submitted frame") is unreadable: \(describe(error))")
        }
        let expectedSize = referenceIsCrop ? (crop.width, crop.height) : (frameWidth, frameHeight)
        guard (expected.width, expected.height) == expectedSize else {
            return Comparison(failure: "the \(referenceIsCrop ? "other crop" : "submitted frame") is \(expected.width)×\(expected.height), not \(expectedSize.0)×\(expectedSize.1)")
        }
        do {
            actual = try PNGImage.decode(candidate)
        } catch {
            return Comparison(failure: "the checking crop is unreadable: \(describe(error))")
        }
        guard (actual.width, actual.height) == (crop.width, crop.height) else {
            return Comparison(failure: "the checking crop is \(actual.width)×\(actual.height), not \(crop.width)×\(crop.height)")
        }
        guard actual.channels == expected.channels, actual.bitDepth == expected.bitDepth else {
            return Comparison(failure: "the crop is \(actual.format), the frame \(expected.format)")
        }
        return Comparison(psnrMilliDb: psnrMilliDb(expected.samples, actual.samples, sampleMax: expected.sampleMax))
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
