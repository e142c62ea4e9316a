import Foundation

/// A grouped bar chart as inline SVG for the explorer's pages: scales with the page (a viewBox, no fixed size), needs
/// no script, and escapes every label.
struct BarChart {
    struct Series {
        var name: String
        var color: String
    }

    struct Group {
        var label: String
        /// One value per series, in the series' order.
        var values: [Double]
    }

    var title: String
    var unit: String
    var series: [Series]
    var groups: [Group]

    static let width = 640.0, height = 230.0
    static let margin = (left: 56.0, right: 12.0, top: 30.0, bottom: 34.0)

    var svg: String {
        let m = Self.margin
        let plotWidth = Self.width - m.left - m.right, plotHeight = Self.height - m.top - m.bottom
        let top = Self.niceCeiling(groups.flatMap(\.values).max() ?? 0)
        func y(_ value: Double) -> Double { m.top + plotHeight - (top > 0 ? value / top * plotHeight : 0) }
        var out = [
            "<svg viewBox=\"0 0 \(Self.format(Self.width)) \(Self.format(Self.height))\" role=\"img\" aria-label=\"\(Self.escape(title))\" xmlns=\"http://www.w3.org/2000/svg\">",
            "<title>\(Self.escape(title))</title>",
        ]
        for step in 0...4 {
            let value = top * Double(step) / 4
            out.append("<line x1=\"\(Self.format(m.left))\" x2=\"\(Self.format(m.left + plotWidth))\" y1=\"\(Self.format(y(value)))\" y2=\"\(Self.format(y(value)))\" stroke=\"#e3e6ea\"/>")
            out.append("<text x=\"\(Self.format(m.left - 6))\" y=\"\(Self.format(y(value) + 4))\" font-size=\"11\" text-anchor=\"end\" fill=\"#5b6570\">\(Self.tick(value))</text>")
        }
        out.append("<text x=\"\(Self.format(m.left))\" y=\"18\" font-size=\"12\" fill=\"#5b6570\">\(Self.escape(unit))</text>")
        var legendX = m.left + plotWidth
        for item in series.reversed() {
            legendX -= 12 + Double(item.name.count) * 6.5
            out.append("<rect x=\"\(Self.format(legendX))\" y=\"9\" width=\"9\" height=\"9\" fill=\"\(item.color)\"/>")
            out.append("<text x=\"\(Self.format(legendX + 12))\" y=\"17\" font-size=\"11\">\(Self.escape(item.name))</text>")
            legendX -= 8
        }
        let slot = groups.isEmpty ? plotWidth : plotWidth / Double(groups.count)
        let barWidth = max(1, slot * 0.8 / Double(max(series.count, 1)))
        // Labels thin out so that they never overlap (about 40 px each).
        let labelEvery = max(1, Int((40 / slot).rounded(.up)))
        for (index, group) in groups.enumerated() {
            let x0 = m.left + Double(index) * slot + slot * 0.1
            for (position, value) in group.values.enumerated() where position < series.count && value > 0 {
                out.append("<rect x=\"\(Self.format(x0 + Double(position) * barWidth))\" y=\"\(Self.format(y(value)))\" width=\"\(Self.format(barWidth))\" height=\"\(Self.format(m.top + plotHeight - y(value)))\" fill=\"\(series[position].color)\"><title>\(Self.escape(group.label)): \(Self.escape(series[position].name)) \(Self.tick(value))</title></rect>")
            }
            if index % labelEvery == 0 {
                out.append("<text x=\"\(Self.format(x0 + slot * 0.4))\" y=\"\(Self.format(m.top + plotHeight + 16))\" font-size=\"11\" text-anchor=\"middle\" fill=\"#5b6570\">\(Self.escape(group.label))</text>")
            }
        }
        out.append("<line x1=\"\(Self.format(m.left))\" x2=\"\(Self.format(m.left + plotWidth))\" y1=\"\(Self.format(m.top + plotHeight))\" y2=\"\(Self.format(m.top + plotHeight))\" stroke=\"#8a939c\"/>")
        if groups.flatMap(\.values).allSatisfy({ $0 == 0 }) {
            out.append("<text x=\"\(Self.format(m.left + plotWidth / 2))\" y=\"\(Self.format(m.top + plotHeight / 2))\" font-size=\"13\" text-anchor=\"middle\" fill=\"#5b6570\">nothing yet</text>")
        }
        out.append("</svg>")
        return out.joined(separator: "\n")
    }

    /// 1, 2 or 5 times a power of ten, at or above `value`; 1 for nothing.
    static func niceCeiling(_ value: Double) -> Double {
        guard value > 0 else { return 1 }
        let power = pow(10, floor(log10(value)))
        return [1.0, 2, 5, 10].map { $0 * power }.first { $0 >= value } ?? 10 * power
    }

    static func tick(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e9 ? String(Int(value)) : String(format: abs(value) >= 10 ? "%.1f" : "%.3g", value)
    }

    static func format(_ value: Double) -> String { String(format: "%.1f", value) }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
