import CrucibleCore
import Foundation
import NIOCore
import NIOPosix

/// The agent's link probe: a small TCP service on the node's peer endpoint that other agents measure round trip and
/// bandwidth against, and the measurement itself. One byte `p` is echoed (a ping); `b` with a 4-byte big-endian
/// length is followed by that many bytes, answered with `k` once all have arrived (a bulk transfer). Anything else
/// closes the connection; nothing is stored or run.
public final class PeerProbeServer: Sendable {
    public let host: String
    public let port: Int
    private let channel: any Channel
    private let serving: Task<Void, Never>

    /// The most one bulk transfer may send, so a peer cannot keep a connection busy for long.
    public static let bulkBytesMax = 64 << 20

    private init(host: String, port: Int, channel: any Channel, serving: Task<Void, Never>) {
        self.host = host
        self.port = port
        self.channel = channel
        self.serving = serving
    }

    /// Listens on `host:port` (0: any free port) until `close`.
    public static func start(host: String, port: Int = 0) async throws -> PeerProbeServer {
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: host, port: port) { child in
                child.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: child)
                }
            }
        let channel = server.channel
        let serving = Task { () async -> Void in
            _ = try? await withThrowingDiscardingTaskGroup { group in
                try await server.executeThenClose { inbound in
                    for try await connection in inbound {
                        group.addTask { try? await Self.serve(connection) }
                    }
                }
            }
        }
        return PeerProbeServer(host: host, port: channel.localAddress?.port ?? port, channel: channel, serving: serving)
    }

    /// `host:port` as registered.
    public var endpoint: String { "\(host):\(port)" }

    public func close() async {
        try? await channel.close()
        await serving.value
    }

    private static func serve(_ connection: NIOAsyncChannel<ByteBuffer, ByteBuffer>) async throws {
        try await connection.executeThenClose { inbound, outbound in
            var bulkLeft = 0
            var header: [UInt8]?
            for try await var buffer in inbound {
                while buffer.readableBytes > 0 {
                    if bulkLeft > 0 {
                        let taken = min(bulkLeft, buffer.readableBytes)
                        buffer.moveReaderIndex(forwardBy: taken)
                        bulkLeft -= taken
                        if bulkLeft == 0 { try await outbound.write(ByteBuffer(string: "k")) }
                        continue
                    }
                    let byte = buffer.readInteger(as: UInt8.self)!
                    if var bytes = header {
                        bytes.append(byte)
                        header = bytes
                        guard bytes.count == 4 else { continue }
                        let length = bytes.reduce(0) { $0 << 8 | Int($1) }
                        guard (1...bulkBytesMax).contains(length) else { return }
                        bulkLeft = length
                        header = nil
                    } else if byte == UInt8(ascii: "p") {
                        try await outbound.write(ByteBuffer(string: "p"))
                    } else if byte == UInt8(ascii: "b") {
                        header = []
                    } else {
                        return
                    }
                }
            }
        }
    }
}

/// Measures the link to a peer's probe: the median round trip of a few one-byte exchanges, then the throughput of one
/// bulk transfer.
public enum LinkMeasurer {
    public struct Result: Sendable, Equatable {
        public var roundTripUs: Int64
        public var bandwidthMbps: Int64
    }

    public static func measure(
        host: String, port: Int, pings: Int = 5, bulkBytes: Int = 4 << 20, timeoutMs: Int = 5_000
    ) async throws -> Result {
        precondition(pings >= 1 && (1...PeerProbeServer.bulkBytesMax).contains(bulkBytes))
        return try await withThrowingTaskGroup(of: Result?.self) { group in
            group.addTask { try await exchange(host: host, port: port, pings: pings, bulkBytes: bulkBytes) }
            group.addTask {
                try await Task.sleep(for: .milliseconds(timeoutMs))
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let result = first else {
                throw CrucibleError(.unavailable, "the peer at \(host):\(port) did not answer within \(timeoutMs) ms")
            }
            return result
        }
    }

    private static func exchange(host: String, port: Int, pings: Int, bulkBytes: Int) async throws -> Result {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.seconds(3))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        return try await channel.executeThenClose { inbound, outbound in
            var replies = inbound.makeAsyncIterator()
            func awaitByte(_ expected: UInt8) async throws {
                guard var reply = try await replies.next(), reply.readInteger(as: UInt8.self) == expected else {
                    throw CrucibleError(.unavailable, "the peer's probe answered out of protocol")
                }
            }
            let clock = ContinuousClock()
            var roundTrips = [Int64]()
            for _ in 0..<pings {
                let started = clock.now
                try await outbound.write(ByteBuffer(string: "p"))
                try await awaitByte(UInt8(ascii: "p"))
                roundTrips.append(max((clock.now - started).totalMicroseconds, 1))
            }
            var header = ByteBuffer(string: "b")
            header.writeInteger(UInt32(bulkBytes))
            let chunkBytes = 256 << 10
            let chunk = ByteBuffer(repeating: 0x5A, count: chunkBytes)
            let started = clock.now
            try await outbound.write(header)
            var left = bulkBytes
            while left > 0 {
                let size = min(left, chunkBytes)
                try await outbound.write(size == chunkBytes ? chunk : ByteBuffer(repeating: 0x5A, count: size))
                left -= size
            }
            try await awaitByte(UInt8(ascii: "k"))
            let elapsedUs = max((clock.now - started).totalMicroseconds, 1)
            roundTrips.sort()
            return Result(roundTripUs: roundTrips[roundTrips.count / 2], bandwidthMbps: max(Int64(bulkBytes) * 8 / elapsedUs, 1))
        }
    }

    /// A port on `host` that was free a moment ago, for a cluster member to listen on once its gang starts.
    public static func freePort(host: String) async throws -> Int {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: host, port: 0).get()
        let port = channel.localAddress?.port ?? 0
        try await channel.close()
        guard port > 0 else { throw CrucibleError(.unavailable, "no free port on \(host)") }
        return port
    }
}

extension Duration {
    var totalMicroseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000 + attoseconds / 1_000_000_000_000
    }
}
