import CrucibleAPI
import CrucibleCore
import CrucibleLedger
import CrucibleProof

extension CoordinatorAPI {
    func nodeView(_ node: NodeRecord, state: NetworkState) async -> Components.Schemas.Node {
        nodeView(node, state: state, presence: await coordinator.presence(of: [node.id]))
    }

    /// What the catalog says the claimed devices can do together: the figure a proven score is set beside.
    static func catalogTops(of hardware: HardwareProfile) -> Double {
        guard !hardware.gpus.isEmpty else { return GPUCatalog.cpu.claimedInt8Tops(cpuCores: hardware.cpuCores) }
        return hardware.gpus.reduce(0) { $0 + ($1.model.flatMap(GPUCatalog.model(id:))?.denseInt8Tops ?? 0) }
    }

    func nodeView(_ node: NodeRecord, state: NetworkState, presence: NodePresence) -> Components.Schemas.Node {
        let registration = node.registration
        let nowMs = presence.nowMs
        let links = (state.links[node.id] ?? [:]).filter { nowMs - $0.value.measuredMs <= state.parameters.linkFreshMs }
            .sorted { $0.key < $1.key }
            .map { Components.Schemas.Link(peer: $0.key, roundTripUs: $0.value.roundTripUs, bandwidthMbps: $0.value.bandwidthMbps, measuredMs: $0.value.measuredMs) }
        return Components.Schemas.Node(
            id: node.id, operatorAddress: registration.operatorAddress, region: registration.region,
            hardware: registration.hardware.summary, gpuCount: registration.hardware.gpus.count,
            cpuCores: registration.hardware.cpuCores, memoryMiB: registration.hardware.memoryMiB,
            online: presence.isOnline(node.id),
            runsActive: state.activeRunIdsByNode[node.id]?.count ?? 0,
            runsDone: node.runsDone, earnedMicro: node.earnedMicro,
            askMicroPerGpuHour: registration.policy.askMicroPerGpuHour,
            askMicroPerCpuCoreHour: registration.policy.askMicroPerCpuCoreHour,
            maxConcurrentRuns: registration.policy.maxConcurrentRuns,
            lastSeenMs: presence.lastSeenMs[node.id],
            proof: .init(
                status: .init(rawValue: node.proof.status.rawValue)!, provenTops: node.proof.provenTops,
                catalogTops: Self.catalogTops(of: registration.hardware), deviceTops: node.proof.deviceTops,
                passed: node.proof.passed, failed: node.proof.failed, lastJudgedMs: node.proof.lastJudgedMs,
                openChallengeId: node.proof.openChallengeId
            ),
            peerEndpoint: registration.peerEndpoint,
            clusterReady: state.isClusterReady(node.id, atMs: nowMs),
            links: links.isEmpty ? nil : links,
            verifiedStreak: node.verifiedStreak,
            adaptiveSamplePpm: state.parameters.adaptive.samplePpm(streak: node.verifiedStreak),
            renderer: registration.renderer
        )
    }

    func challengeDeviceView(_ device: ChallengeDevice, seed: String?, achievedTops: Double?) -> Components.Schemas.ChallengeDevice {
        Components.Schemas.ChallengeDevice(
            index: device.index, gpuUuid: device.gpuUuid, model: device.model, claimedTops: device.claimedTops,
            n: device.n, m: device.m, seedSha256: device.seedSha256, seed: seed, achievedTops: achievedTops
        )
    }

    /// A challenge as anyone may see it: seeds only once judged.
    func challengeView(_ record: ChallengeRecord) -> Components.Schemas.Challenge {
        let verdict = record.verdict
        let devices = record.issue.devices.enumerated().map { position, device in
            challengeDeviceView(
                device, seed: verdict?.seeds[position],
                achievedTops: verdict.flatMap { $0.deviceTops.indices.contains(position) ? $0.deviceTops[position] : nil }
            )
        }
        return Components.Schemas.Challenge(
            challengeId: record.id, nodeId: record.nodeId, reason: record.issue.reason.rawValue,
            state: .init(rawValue: record.state.rawValue)!, devices: devices, issuedMs: record.issuedMs,
            startedMs: record.startedMs, committedMs: record.committedMs, roundTripMs: record.roundTripMs, computeMs: record.computeMs,
            queries: record.queries.map { $0.map { .init(t: $0.t, i: $0.i) } }, failure: verdict?.reason
        )
    }

    func networkView() async -> Components.Schemas.NetworkSummary {
        let state = await coordinator.state
        let figures = NetworkFigures(state: state, isOnline: await coordinator.presence().isOnline)
        return networkView(state: state, figures: figures, logHead: await coordinator.logHead)
    }

    /// The summary of figures already computed from `state` (a page that needs both computes them once).
    func networkView(state: NetworkState, figures: NetworkFigures, logHead: Int64) -> Components.Schemas.NetworkSummary {
        let gpus = figures.gpus
        return Components.Schemas.NetworkSummary(
            coordinator: coordinator.identity.address, logHead: logHead,
            nodesRegistered: figures.nodesRegistered, nodesOnline: figures.nodesOnline,
            gpusRegistered: gpus.registered, nodesProven: figures.nodesProven, gpusProven: gpus.proven, provenTops: figures.provenTops,
            challengesPassed: figures.challengesPassed, challengesFailed: figures.challengesFailed,
            jobsTotal: figures.jobsTotal, jobsOpen: state.jobs.values.filter { !$0.isClosed }.count,
            jobsSettled: figures.jobsByState[.settled, default: 0], jobsCancelled: figures.jobsByState[.cancelled, default: 0],
            genesisMicro: state.ledger.genesisMicro, mintedMicro: state.ledger.mintedMicro, burnedMicro: state.ledger.burnedMicro,
            supplyMicro: state.ledger.supplyMicro, escrowMicro: state.ledger.totalEscrowMicro, stakedMicro: state.ledger.totalStakeMicro,
            treasuryMicro: state.ledger.treasuryMicro, epoch: state.epoch, feeBps: state.parameters.feeBps
        )
    }

    func offerView(_ run: RunRecord, state: NetworkState) -> Components.Schemas.Offer? {
        guard let job = state.jobs[run.jobId], let deadline = run.offerDeadlineMs else { return nil }
        let spec = job.spec
        let segment = state.trainSegment(of: run)
        // A validator's segment resumes from the reference's saved state, fetched like any input.
        let resume = segment.map { [JobSpec.InputFile(name: JobSpec.trainResumeInput, sha256: $0.state.sha256, sizeBytes: $0.state.sizeBytes)] } ?? []
        return Components.Schemas.Offer(
            runId: run.id, offer: run.offers, jobId: job.id, taskIndex: run.taskIndex, taskCount: spec.taskCount,
            role: .init(rawValue: run.role.rawValue)!, kind: spec.kind.rawValue, command: spec.command, args: spec.args,
            inputs: (spec.inputs + resume).map { .init(name: $0.name, sha256: $0.sha256, sizeBytes: $0.sizeBytes) },
            gpuMilli: spec.resources.gpuMilli, cpuCores: spec.resources.cpuCores, memoryMiB: spec.resources.memoryMiB,
            maxDurationS: spec.maxDurationS, priceMicroPerUnitHour: run.priceMicroPerUnitHour, requester: job.requester,
            deadlineMs: deadline, gpuDevices: run.nodeId.flatMap { state.gpuDevices(of: run, on: $0) }, dataRegion: spec.placement.dataRegion,
            cluster: spec.cluster.flatMap { cluster in
                run.rank.map { .init(rank: $0, worldSize: cluster.nodes, roundTripMsMax: cluster.roundTripMsMax) }
            },
            segment: segment.map { .init(fromStep: $0.fromStep, toStep: $0.toStep, processes: $0.processes) },
            render: spec.render.map { render in
                // Only a checking run renders tiles; the primary renders the whole frame.
                let crops = run.role == .primary ? [] : job.tasks[run.taskIndex].crops
                return .init(
                    frame: render.frameStart + run.taskIndex, width: render.width, height: render.height, samples: render.samples,
                    seed: render.seed, bitDepth: render.bitDepth, crops: crops.isEmpty ? nil : crops.map { .init(x: $0.x, y: $0.y, width: $0.width, height: $0.height) }
                )
            }
        )
    }

    /// Where a render task's frame stands with its requester, for a job with review.
    func reviewView(_ job: JobRecord, _ task: TaskRecord, state: NetworkState) -> Components.Schemas.TaskReview? {
        guard job.spec.render?.reviewS != nil else { return nil }
        let awaiting = state.frameUnderReview(job, task) != nil
        let status: Components.Schemas.TaskReview.StatePayload =
            task.approvedMs != nil ? (task.autoApproved ? .autoApproved : .approved) : awaiting ? .awaiting : .waiting
        return .init(
            state: status, dueMs: state.reviewDueMs(job, task), approvedMs: task.approvedMs,
            rejections: task.rejections.map { .init(runId: $0.runId, reason: $0.reason, atMs: $0.atMs) }
        )
    }

    /// The tile comparisons of a render job's checked frames: the evidence behind each render task's verdict.
    func cropCheckViews(_ job: JobRecord, state: NetworkState) -> [Components.Schemas.CropCheck]? {
        guard let render = job.spec.render else { return nil }
        let minimum = state.parameters.renderPsnrMilliDbMin
        let views = job.tasks.flatMap { task in
            task.cropChecks.compactMap { check -> Components.Schemas.CropCheck? in
                let comparison = check.comparison
                return .init(
                    taskIndex: task.index, frame: render.frameStart + task.index,
                    crops: check.crops.map { .init(x: $0.x, y: $0.y, width: $0.width, height: $0.height) },
                    runId: check.runId, againstRunId: check.againstRunId, psnrDb: comparison.psnrMilliDb.map { Double($0) / 1000 },
                    identical: comparison.failure == nil && comparison.psnrMilliDb == nil, failure: comparison.failure,
                    matches: comparison.matches(minMilliDb: minimum)
                )
            }
        }
        return views.isEmpty ? nil : views
    }

    /// The train segments validators re-ran for `job`, with how far each ended from the reference.
    func segmentViews(_ job: JobRecord, state: NetworkState) -> [Components.Schemas.TrainSegment]? {
        let views = job.tasks.compactMap { task -> Components.Schemas.TrainSegment? in
            guard let from = task.segmentFromStep, let to = task.segmentToStep else { return nil }
            let replica = task.runIds.compactMap { state.runs[$0] }.last { $0.role == .replica && $0.state == .completed }
            let deviation = replica.flatMap { state.segmentDeviation(of: task, replica: $0) }
            return .init(taskIndex: task.index, fromStep: from, toStep: to, deviationPpm: deviation.map { $0 * 1_000_000 })
        }
        return views.isEmpty ? nil : views
    }

    /// A cluster run the node accepted: still waiting for its peers, or started with every member's address.
    func clusterRunView(_ run: RunRecord, state: NetworkState) -> Components.Schemas.ClusterRun? {
        guard let rank = run.rank, let cluster = state.jobs[run.jobId]?.spec.cluster else { return nil }
        let started = run.state == .running
        return Components.Schemas.ClusterRun(
            runId: run.id, state: started ? .started : .waiting, rank: rank, worldSize: cluster.nodes,
            peers: started ? state.peers(of: run).map { .init(rank: $0.rank, nodeId: $0.nodeId, host: $0.host, port: $0.port) } : []
        )
    }

    func jobSummaryView(_ job: JobRecord) -> Components.Schemas.JobSummary {
        Components.Schemas.JobSummary(
            id: job.id, name: job.spec.name, requester: job.requester, state: job.state.rawValue, taskCount: job.spec.taskCount,
            tasksVerified: job.tasks.filter { $0.state == .verified }.count,
            tasksDisputed: job.tasks.filter { $0.state == .disputed }.count,
            tasksFailed: job.tasks.filter { $0.state == .failed }.count,
            submittedMs: job.submittedMs, paidMicro: job.paidMicro, burnedMicro: job.burnedMicro
        )
    }

    func jobView(_ job: JobRecord, state: NetworkState, waiting: String? = nil) -> Components.Schemas.Job {
        let spec = job.spec
        let tasks = job.tasks.map { task in
            Components.Schemas.TaskStatus(
                index: task.index, state: task.state.rawValue, digest: task.digest,
                runs: task.runIds.compactMap { state.runs[$0] }.map { run in
                    Components.Schemas.RunStatus(
                        id: run.id, role: run.role.rawValue, attempt: run.attempt, state: run.state.rawValue, nodeId: run.nodeId,
                        priceMicroPerUnitHour: run.priceMicroPerUnitHour, startedMs: run.startedMs, endedMs: run.endedMs,
                        exitCode: run.exitCode.map(Int.init), digest: run.digest, failure: run.failure, paidMicro: run.paidMicro,
                        outputs: run.outputs.map { .init(path: $0.path, sha256: $0.sha256, sizeBytes: $0.sizeBytes) },
                        gpuDevices: run.nodeId.flatMap { state.gpuDevices(of: run, on: $0) },
                        rank: run.rank, peerPort: run.peerPort,
                        checkpoints: run.checkpoints.isEmpty ? nil : run.checkpoints.map { .init(step: $0.step, digest: $0.digest, fingerprint: $0.fingerprint) }
                    )
                },
                review: reviewView(job, task, state: state)
            )
        }
        return Components.Schemas.Job(
            id: job.id, name: spec.name, requester: job.requester, state: job.state.rawValue, kind: spec.kind.rawValue,
            command: spec.command, args: spec.args, taskCount: spec.taskCount, gpuMilli: spec.resources.gpuMilli,
            cpuCores: spec.resources.cpuCores, memoryMiB: spec.resources.memoryMiB,
            maxPriceMicroPerUnitHour: spec.maxPriceMicroPerUnitHour, maxDurationS: spec.maxDurationS,
            verification: spec.verification.policy.rawValue, samplePpm: spec.verification.samplePpm,
            submittedMs: job.submittedMs, closedMs: job.closedMs, escrowLockedMicro: job.escrowLockedMicro,
            paidMicro: job.paidMicro, burnedMicro: job.burnedMicro, refundedMicro: job.refundedMicro, tasks: tasks,
            placement: spec.placement.isUnrestricted ? nil : .init(
                gpuModels: spec.placement.gpuModels, minGpuMemoryMiB: spec.placement.minGpuMemoryMiB, minTopsPerGpu: spec.placement.minTopsPerGpu,
                allowRegions: spec.placement.allowRegions, denyRegions: spec.placement.denyRegions, dataRegion: spec.placement.dataRegion
            ),
            cluster: spec.cluster.map { .init(nodes: $0.nodes, roundTripMsMax: $0.roundTripMsMax) },
            segments: segmentViews(job, state: state),
            render: spec.render.map {
                .init(
                    frameStart: $0.frameStart, frameEnd: $0.frameStart + spec.taskCount - 1, width: $0.width, height: $0.height,
                    samples: $0.samples, seed: $0.seed, bitDepth: $0.bitDepth, reviewS: $0.reviewS
                )
            },
            cropChecks: cropCheckViews(job, state: state),
            waiting: waiting
        )
    }
}

extension Auditor.AccountFigures {
    /// What a coordinator reports for an address over the API, to hold against the log's replay.
    public init(_ account: Components.Schemas.Account) {
        self.init(balanceMicro: account.balanceMicro, escrowMicro: account.escrowMicro, stakedMicro: account.stakedMicro, unbondingMicro: account.unbondingMicro)
    }
}
