import ArgumentParser
import CrucibleAPI
import CrucibleClient
import CrucibleCore
import Foundation

struct JobCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "job",
        abstract: "Submit and follow jobs.",
        subcommands: [Submit.self, Status.self, Logs.self, Cancel.self, List.self, Review.self, Preview.self]
    )

    struct Submit: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Upload a job's inputs, sign its spec and submit it; escrow locks its maximum cost.")

        @Argument(help: "Job spec (YAML).")
        var spec: String

        @Option(help: "Requester wallet key.")
        var key: String = ".crucible/wallet.key"

        @Flag(help: "Follow the job until it is settled (a live table on a terminal) and print its status.")
        var wait = false

        @Option(help: "With --wait: give up after this many seconds (the job goes on).")
        var timeout: Int = 86_400

        @Flag(help: "Print JSON for scripts: the API's job object, when submitted or, with --wait, when closed.") var json = false

        @OptionGroup var client: ClientOptions

        func run() async throws {
            guard timeout > 0 else { throw ValidationError("--timeout must be a positive number of seconds") }
            let requester = try KeyFile.read(key)
            let file = try JobSpecFile.load(path: spec)
            let coordinator = try client.client()
            let resolved = try await file.resolve(uploadingWith: coordinator, by: requester)
            let job = try await coordinator.submitJob(resolved, by: requester)
            guard wait else {
                if json { return try printJSON(job) }
                return print("submitted \(job.id): \(job.taskCount) tasks, \(Amount.format(job.escrowLockedMicro)) CRU locked in escrow")
            }
            if json {
                // Scripts get one JSON object on stdout: the closed job; no table.
                var closed = job
                while !["settled", "cancelled"].contains(closed.state) {
                    try await Task.sleep(for: .milliseconds(500))
                    closed = try await coordinator.job(job.id)
                }
                return try printJSON(closed)
            }
            print("submitted \(job.id): \(job.taskCount) tasks, \(Amount.format(job.escrowLockedMicro)) CRU locked in escrow")
            let closed = try await JobProgress(client: coordinator, jobIds: [job.id]).follow(deadlineS: timeout)
            print(JobText.status(closed[0]))
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a job with its tasks and runs.")

        @Argument var id: String
        @Flag(help: "Print JSON for scripts (the API's job object).") var json = false
        @OptionGroup var client: ClientOptions

        func run() async throws {
            let job = try await client.client().job(id)
            if json { return try printJSON(job) }
            print(JobText.status(job))
        }
    }

    struct Logs: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a job's task output; -f follows until the job closes.")

        @Argument var id: String
        @Flag(name: .shortAndLong, help: "Follow the log until the job is closed.")
        var follow = false
        @Flag(help: "Print each chunk as one line of JSON (the API's log chunk), for scripts; with -f as they come.") var json = false
        @OptionGroup var client: ClientOptions

        func run() async throws {
            let coordinator = try client.client()
            var cursor: Int64 = 0
            while true {
                let page = try await coordinator.jobLogs(id, after: cursor)
                if json {
                    for chunk in page.chunks { try printJSONLine(chunk) }
                    fflush(nil)
                }
                for chunk in page.chunks where !json {
                    let prefix = "[task \(chunk.taskIndex) \(JobText.runLabel(chunk.runId))] "
                    let lines = chunk.text.split(separator: "\n", omittingEmptySubsequences: false)
                    for (index, line) in lines.enumerated() where !(index == lines.count - 1 && line.isEmpty) {
                        print(prefix + line)
                    }
                }
                cursor = page.next
                if !follow || (page.jobClosed && page.chunks.isEmpty) { break }
                if page.chunks.isEmpty { try await Task.sleep(for: .milliseconds(500)) }
            }
        }
    }

    struct Cancel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Cancel a job; unspent escrow is refunded.")

        @Argument var id: String
        @Option(help: "Requester wallet key.")
        var key: String = ".crucible/wallet.key"
        @OptionGroup var client: ClientOptions

        func run() async throws {
            let job = try await client.client().cancelJob(id, by: try KeyFile.read(key))
            print("\(job.id) \(job.state); refunded \(Amount.format(job.refundedMicro)) CRU")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List jobs, newest first.")

        @Option(help: "Only jobs of this requester address.")
        var requester: String?
        @Flag(help: "Print JSON for scripts (the API's job summaries).") var json = false
        @OptionGroup var client: ClientOptions

        func run() async throws {
            let jobs = try await client.client().jobs(requester: requester)
            if json { return try printJSON(jobs) }
            let rows = jobs.map { job in
                [job.id, job.name, job.state, "\(job.tasksVerified)/\(job.taskCount)", Amount.format(job.paidMicro), Amount.format(job.burnedMicro)]
            }
            print(TextTable.render(header: ["JOB", "NAME", "STATE", "VERIFIED", "PAID CRU", "BURNED CRU"], rows: rows))
        }
    }
}

enum JobText {
    /// A run by its role and attempt (`p1`, `r1`, `a1`), and a gang member by rank (`p1 rank 0`).
    static func runLabel(_ runId: String) -> String {
        let parts = runId.split(separator: ".")
        guard let last = parts.last else { return runId }
        if last.hasPrefix("m"), parts.count >= 2, let rank = Int(last.dropFirst()) { return "\(parts[parts.count - 2]) rank \(rank)" }
        return String(last)
    }

    static func status(_ job: Components.Schemas.Job) -> String {
        var lines = [
            "\(job.id)  \(job.name)  \(job.state)",
            "  requester \(job.requester)",
            "  \(job.command) \(job.args.joined(separator: " "))",
            "  \(job.taskCount) tasks, verification \(job.verification)\(job.verification == "replicate" ? " at \(Double(job.samplePpm) / 10_000)%" : ""), max \(Amount.format(job.maxPriceMicroPerUnitHour)) CRU per \(job.gpuMilli > 0 ? "GPU" : "CPU-core")-hour, \(job.maxDurationS) s limit",
            "  escrow \(Amount.format(job.escrowLockedMicro)) CRU: paid \(Amount.format(job.paidMicro)), fee burned \(Amount.format(job.burnedMicro)), refunded \(Amount.format(job.refundedMicro))",
        ]
        if let cluster = job.cluster {
            lines.append("  each task runs on \(cluster.nodes) nodes at once, every pair within \(cluster.roundTripMsMax) ms")
        }
        if let render = job.render {
            lines.append("  frames \(render.frameStart)–\(render.frameEnd) at \(render.width)×\(render.height), \(render.samples) samples, seed \(render.seed), \(render.bitDepth)-bit PNG"
                + (render.reviewS.map { ", reviewed by the requester (auto-approved after \($0) s)" } ?? ""))
        }
        if let waiting = job.waiting { lines.append("  waiting: \(waiting)") }
        var rows = [[String]]()
        for task in job.tasks {
            for run in task.runs {
                let duration = run.startedMs.flatMap { start in run.endedMs.map { String(format: "%.1f s", Double($0 - start) / 1000) } } ?? ""
                rows.append([
                    "\(task.index)", task.state, run.rank.map { "rank \($0)" } ?? run.role, "\(run.attempt)", run.state, run.nodeId.map(Address.short) ?? "",
                    duration, run.digest.map { String($0.prefix(12)) } ?? "", Amount.format(run.paidMicro), run.failure ?? "",
                ])
            }
        }
        lines.append(TextTable.render(header: ["TASK", "TASK STATE", "ROLE", "TRY", "RUN", "NODE", "TIME", "DIGEST", "PAID", "NOTE"], rows: rows))
        // A train job's evidence: each run's checkpoints, and how far each validator's segment ended from the gang.
        let trained = job.tasks.flatMap { task in task.runs.map { (task.index, $0) } }.filter { !($0.1.checkpoints ?? []).isEmpty }
        if !trained.isEmpty {
            lines.append("checkpoints (step:digest):")
            for (index, run) in trained {
                let marks = (run.checkpoints ?? []).map { "\($0.step):\($0.digest.prefix(8))" }.joined(separator: " ")
                lines.append("  task \(index) \(runLabel(run.id)): \(marks)")
            }
        }
        for segment in job.segments ?? [] {
            let deviation = segment.deviationPpm.map { String(format: "%.1f ppm from the gang's weights", $0) } ?? "not re-run yet"
            lines.append("  task \(segment.taskIndex): a validator re-ran steps \(segment.fromStep)→\(segment.toStep): \(deviation)")
        }
        // Requester review: where each frame stands, and every rejection with its reason.
        let reviewed = job.tasks.compactMap { task in task.review.map { (task.index, $0) } }
        if !reviewed.isEmpty {
            lines.append("review (`crucible job preview` shows a frame awaiting it; `crucible job review` answers):")
            for (index, review) in reviewed {
                let rejections = review.rejections.map { " — rejected \(runLabel($0.runId)): \($0.reason)" }.joined()
                lines.append("  task \(index): \(review.state.rawValue)\(rejections)")
            }
        }
        // A render job's evidence: each checked frame's tiles and how the re-render compared.
        let checks = job.cropChecks ?? []
        if !checks.isEmpty {
            lines.append("proof of render (re-rendered tiles; the worst tile counts):")
            for check in checks {
                let figure = check.failure ?? (check.identical ? "identical pixels" : check.psnrDb.map { String(format: "%.2f dB", $0) } ?? "")
                let tiles = check.crops.first.map { "\(check.crops.count) tiles of \($0.width)×\($0.height)" } ?? "no tiles"
                lines.append("  frame \(check.frame), \(tiles): \(runLabel(check.runId)) vs \(runLabel(check.againstRunId)): \(figure), \(check.matches ? "match" : "NO MATCH")")
            }
        }
        return lines.joined(separator: "\n")
    }
}
