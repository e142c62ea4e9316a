import CrucibleCore
import Foundation

/// The unprivileged account an agent that runs as root starts its tasks as: a task then cannot read the node key or
/// anything else only the agent's user may, nor signal the agent. The agent gives it each run's folder and takes the
/// outputs back as root; `setpriv` (util-linux) drops to it for the one command.
public struct TaskUser: Sendable, Equatable {
    public let name: String
    public let uid: uid_t
    public let gid: gid_t

    static let setpriv = "/usr/bin/setpriv"

    public init(name: String) throws {
        guard let entry = getpwnam(name) else {
            throw CrucibleError(.notFound, "no user \(name) on this machine: create one for tasks (useradd --system crucible-task) or name another")
        }
        guard entry.pointee.pw_uid != 0 else { throw CrucibleError(.malformed, "tasks must not run as root; name an unprivileged user") }
        self.name = name
        uid = entry.pointee.pw_uid
        gid = entry.pointee.pw_gid
    }

    /// Checks that this agent can start tasks as the user and that the user can reach `workRoot`.
    func check(reaching workRoot: URL) throws {
        guard getuid() == 0 else {
            throw CrucibleError(.forbidden, "running tasks as \(name) needs the agent to run as root (it drops to \(name) for each task)")
        }
        guard FileManager.default.isExecutableFile(atPath: Self.setpriv) else {
            throw CrucibleError(.unavailable, "\(Self.setpriv) is missing; install util-linux")
        }
        try FileManager.default.createDirectory(at: workRoot, withIntermediateDirectories: true)
        // Others may pass through the runs folder to their own run, not list it.
        try FileManager.default.setAttributes([.posixPermissions: 0o711], ofItemAtPath: workRoot.path)
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: Self.setpriv)
        probe.arguments = commandLine(["/usr/bin/test", "-x", workRoot.path])
        probe.standardOutput = FileHandle.nullDevice
        probe.standardError = FileHandle.nullDevice
        try probe.run()
        probe.waitUntilExit()
        guard probe.terminationStatus == 0 else {
            throw CrucibleError(
                .forbidden, "\(name) cannot reach \(workRoot.path): give the agent a work folder whose parents others may pass through (for example /var/lib/crucible)"
            )
        }
    }

    /// The arguments to `setpriv` that run `command` as this user, with no supplementary groups.
    func commandLine(_ command: [String]) -> [String] {
        ["--reuid=\(uid)", "--regid=\(gid)", "--clear-groups", "--"] + command
    }

    /// Makes the user the owner of `directory` and everything in it (links themselves, never what they point to).
    func own(_ directory: URL) throws {
        var paths = [directory.path]
        if let enumerator = FileManager.default.enumerator(atPath: directory.path) {
            for case let relative as String in enumerator { paths.append(directory.path + "/" + relative) }
        }
        for path in paths where lchown(path, uid, gid) != 0 {
            throw CrucibleError(.unavailable, "could not give \(path) to \(name): \(String(cString: strerror(errno)))")
        }
    }
}
