import CrucibleProof
import Foundation

/// What a requester sees of a frame under review: half its size, in 8 bits, crossed by diagonal bands that darken it —
/// enough to judge the render, not a deliverable.
enum FramePreview {
    static func make(from frame: Data) throws -> Data {
        let image = try PNGImage.decode(frame)
        let width = max(1, image.width / 2), height = max(1, image.height / 2)
        let scale = image.sampleMax
        // Which of the image's channels feeds R, G, B and A (nil: opaque).
        let sources: [Int?] = switch image.channels {
        case 1: [0, 0, 0, nil]
        case 2: [0, 0, 0, 1]
        case 3: [0, 1, 2, nil]
        default: [0, 1, 2, 3]
        }
        var pixels = [UInt8](repeating: 0, count: width * height * 4)
        for y in 0..<height {
            for x in 0..<width {
                // Diagonal bands 12 pixels wide, every 24, at 45% brightness.
                let banded = ((x + y) / 12) % 2 == 0
                for (channel, source) in sources.enumerated() {
                    var value = 1.0
                    if let source {
                        var sum = 0.0, count = 0.0
                        for dy in 0..<2 where 2 * y + dy < image.height {
                            for dx in 0..<2 where 2 * x + dx < image.width {
                                sum += Double(image.samples[((2 * y + dy) * image.width + 2 * x + dx) * image.channels + source])
                                count += 1
                            }
                        }
                        value = sum / count / scale
                    }
                    if banded, channel < 3 { value *= 0.45 }
                    pixels[(y * width + x) * 4 + channel] = UInt8((min(max(value, 0), 1) * 255).rounded())
                }
            }
        }
        return try PNGImage.encodeRGBA8(width: width, height: height, pixels: pixels)
    }
}
