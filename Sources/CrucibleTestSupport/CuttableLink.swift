import Foundation
import NIOCore
import NIOPosix
import Synchronization

/// A TCP relay on loopback between a client and a server that a test can cut and heal, as a network would: while cut,
/// every open connection is closed and new ones are closed as soon as they arrive.
public final class CuttableLink: Sendable {
    public let port: Int
    private let listener: any Channel
    private let serving: Task<Void, Never>
    private let state = Mutex(State())

    struct State {
        var cut = false
        var open: [ObjectIdentifier: any Channel] = [:]
    }

    private init(port: Int, listener: any Channel, serving: Task<Void, Never>) {
        self.port = port
        self.listener = listener
        self.serving = serving
    }

    /// Relays connections on a free loopback port to `targetPort` on loopback.
    public static func start(to targetPort: Int) async throws -> CuttableLink {
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: "127.0.0.1", port: 0) { child in
                child.eventLoop.makeCompletedFuture { try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: child) }
            }
        let link = LinkBox()
        let listener = server.channel
        let serving = Task {
            _ = try? await withThrowingDiscardingTaskGroup { group in
                try await server.executeThenClose { inbound in
                    for try await connection in inbound {
                        group.addTask { await link.value?.relay(connection, to: targetPort) }
                    }
                }
            }
        }
        let made = CuttableLink(port: listener.localAddress?.port ?? 0, listener: listener, serving: serving)
        link.value = made
        return made
    }

    /// Closes every relayed connection and refuses new ones until `heal`.
    public func cut() {
        let open = state.withLock { state -> [any Channel] in
            state.cut = true
            defer { state.open = [:] }
            return Array(state.open.values)
        }
        for channel in open { channel.close(promise: nil) }
    }

    public func heal() {
        state.withLock { $0.cut = false }
    }

    public func close() async {
        cut()
        try? await listener.close()
        await serving.value
    }

    private func relay(_ client: NIOAsyncChannel<ByteBuffer, ByteBuffer>, to targetPort: Int) async {
        guard !state.withLock({ $0.cut }) else {
            try? await client.channel.close()
            return
        }
        guard let upstream = try? await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: targetPort, channelInitializer: { channel in
                channel.eventLoop.makeCompletedFuture { try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel) }
            })
        else {
            try? await client.channel.close()
            return
        }
        state.withLock { state in
            state.open[ObjectIdentifier(client.channel)] = client.channel
            state.open[ObjectIdentifier(upstream.channel)] = upstream.channel
        }
        defer {
            state.withLock { state in
                state.open[ObjectIdentifier(client.channel)] = nil
                state.open[ObjectIdentifier(upstream.channel)] = nil
            }
        }
        try? await client.executeThenClose { clientIn, clientOut in
            try await upstream.executeThenClose { upstreamIn, upstreamOut in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { for try await bytes in clientIn { try await upstreamOut.write(bytes) } }
                    group.addTask { for try await bytes in upstreamIn { try await clientOut.write(bytes) } }
                    // When either side ends, the relay ends: both connections close.
                    try await group.next()
                    group.cancelAll()
                }
            }
        }
    }

    /// Lets the accept loop, started before the link exists, reach it.
    private final class LinkBox: Sendable {
        private let stored = Mutex<CuttableLink?>(nil)
        var value: CuttableLink? {
            get { stored.withLock { $0 } }
            set { stored.withLock { $0 = newValue } }
        }
    }
}
