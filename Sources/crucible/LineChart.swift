import Foundation

/// A plain SVG line chart (axes, ticks, one polyline per series, a legend), for figures the CLI writes to files.
struct LineChart {
    struct Series {
        var name: String
        var color: String
        var points: [(x: Double, y: Double)]
    }

    var title: String
    var xLabel: String
    var yLabel: String
    var series: [Series]
    /// The y axis starts at zero and reaches at least this.
    var yMinimumTop: Double = 0

    static let width = 900.0
    static let height = 320.0
    static let margin = (left: 70.0, right: 20.0, top: 40.0, bottom: 50.0)

    /// The chart as an SVG group, `offsetY` from the top of the document.
    func group(offsetY: Double) -> String {
        let m = Self.margin
        let plotWidth = Self.width - m.left - m.right, plotHeight = Self.height - m.top - m.bottom
        let xs = series.flatMap { $0.points.map(\.x) }, ys = series.flatMap { $0.points.map(\.y) }
        let xMin = xs.min() ?? 0, xMax = max(xs.max() ?? 1, xMin + 1e-9)
        let yTop = Self.niceCeiling(max(ys.max() ?? 1, yMinimumTop, 1e-9))
        func px(_ x: Double) -> Double { m.left + (x - xMin) / (xMax - xMin) * plotWidth }
        func py(_ y: Double) -> Double { m.top + plotHeight - y / yTop * plotHeight }
        var out = ["<g transform=\"translate(0,\(Self.format(offsetY)))\">"]
        out.append("<text x=\"\(Self.format(m.left))\" y=\"24\" font-size=\"16\" font-weight=\"bold\">\(Self.escape(title))</text>")
        for step in 0...4 {
            let y = yTop * Double(step) / 4
            out.append("<line x1=\"\(Self.format(m.left))\" x2=\"\(Self.format(m.left + plotWidth))\" y1=\"\(Self.format(py(y)))\" y2=\"\(Self.format(py(y)))\" stroke=\"#ddd\"/>")
            out.append("<text x=\"\(Self.format(m.left - 8))\" y=\"\(Self.format(py(y) + 4))\" font-size=\"11\" text-anchor=\"end\">\(Self.tick(y))</text>")
            let x = xMin + (xMax - xMin) * Double(step) / 4
            out.append("<text x=\"\(Self.format(px(x)))\" y=\"\(Self.format(m.top + plotHeight + 18))\" font-size=\"11\" text-anchor=\"middle\">\(Self.tick(x))</text>")
        }
        out.append("<rect x=\"\(Self.format(m.left))\" y=\"\(Self.format(m.top))\" width=\"\(Self.format(plotWidth))\" height=\"\(Self.format(plotHeight))\" fill=\"none\" stroke=\"#888\"/>")
        out.append("<text x=\"\(Self.format(m.left + plotWidth / 2))\" y=\"\(Self.format(Self.height - 8))\" font-size=\"12\" text-anchor=\"middle\">\(Self.escape(xLabel))</text>")
        out.append("<text transform=\"translate(16,\(Self.format(m.top + plotHeight / 2))) rotate(-90)\" font-size=\"12\" text-anchor=\"middle\">\(Self.escape(yLabel))</text>")
        for (index, line) in series.enumerated() {
            let points = line.points.map { "\(Self.format(px($0.x))),\(Self.format(py($0.y)))" }.joined(separator: " ")
            out.append("<polyline fill=\"none\" stroke=\"\(line.color)\" stroke-width=\"2\" points=\"\(points)\"/>")
            let legendX = m.left + plotWidth - 220, legendY = m.top + 16 + Double(index) * 18
            out.append("<line x1=\"\(Self.format(legendX))\" x2=\"\(Self.format(legendX + 24))\" y1=\"\(Self.format(legendY - 4))\" y2=\"\(Self.format(legendY - 4))\" stroke=\"\(line.color)\" stroke-width=\"3\"/>")
            out.append("<text x=\"\(Self.format(legendX + 30))\" y=\"\(Self.format(legendY))\" font-size=\"12\">\(Self.escape(line.name))</text>")
        }
        out.append("</g>")
        return out.joined(separator: "\n")
    }

    /// Charts stacked into one SVG document.
    static func document(_ charts: [LineChart]) -> String {
        let total = height * Double(charts.count)
        var out = ["<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(format(width)) \(format(total))\" width=\"\(format(width))\" height=\"\(format(total))\" font-family=\"sans-serif\">"]
        out.append("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>")
        for (index, chart) in charts.enumerated() { out.append(chart.group(offsetY: Double(index) * height)) }
        out.append("</svg>")
        return out.joined(separator: "\n") + "\n"
    }

    /// 1, 2 or 5 times a power of ten, at or above `value`.
    static func niceCeiling(_ value: Double) -> Double {
        let power = pow(10, floor(log10(value)))
        return [1.0, 2, 5, 10].map { $0 * power }.first { $0 >= value * (1 - 1e-12) } ?? 10 * power
    }

    static func tick(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e9 ? String(Int(value)) : String(format: abs(value) < 10 ? "%.1f" : "%.0f", value)
    }

    static func format(_ value: Double) -> String { String(format: "%.1f", value) }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }
}
