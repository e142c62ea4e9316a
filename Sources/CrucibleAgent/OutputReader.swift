import CrucibleCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A task's output, read from its pipe with blocking reads on a thread of its own and handed on as chunks.
///
/// Not Foundation's `readabilityHandler`: on Linux it arms a libdispatch read source, and tearing those down while
/// other runs start and end corrupts libdispatch's epoll bookkeeping and crashes the whole process in
/// `_dispatch_event_loop_drain` (swift-corelibs-libdispatch#949; seen here with several runs at once). A blocking
/// read never registers the descriptor with libdispatch.
final class OutputReader: Sendable {
    let chunks: AsyncStream<Data>
    private let stopping = CancellationFlag()

    /// How long the reader waits in one `poll`, and so how soon it notices `finish`.
    static let pollMs: Int32 = 50
    /// How long after `finish` it goes on reading while output keeps coming (a grandchild may hold the pipe open).
    static let drainMs = 300

    init(_ handle: FileHandle) {
        let (chunks, continuation) = AsyncStream<Data>.makeStream(bufferingPolicy: .bufferingNewest(4096))
        self.chunks = chunks
        let stopping = stopping
        Thread.detachNewThread {
            Self.read(handle, into: continuation, until: stopping)
        }
    }

    /// The child has exited, so its output is in the pipe: read what is there and stop, at EOF or once the pipe is
    /// quiet — EOF may come late or never, when a process spawned at the same moment inherited the write end.
    func finish() { stopping.raise() }

    private static func read(_ handle: FileHandle, into continuation: AsyncStream<Data>.Continuation, until stopping: CancellationFlag) {
        defer { continuation.finish() }
        let fd = handle.fileDescriptor
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        var stopSeen: ContinuousClock.Instant?
        while true {
            var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&descriptor, 1, pollMs)
            if ready < 0 && errno != EINTR { return }
            if ready > 0 {
                let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
                if count == 0 { return }
                if count > 0 {
                    continuation.yield(Data(buffer[0..<count]))
                } else if errno != EINTR && errno != EAGAIN {
                    return
                }
            }
            if stopSeen == nil, stopping.isRaised { stopSeen = .now }
            if let stopSeen, ready == 0 || ContinuousClock.now - stopSeen > .milliseconds(drainMs) { return }
        }
    }
}
