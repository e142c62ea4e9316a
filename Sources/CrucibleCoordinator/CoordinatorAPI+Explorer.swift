import CrucibleAPI
import CrucibleCore
import CrucibleLedger

/// The explorer's JSON: each page of it renders exactly what one of these answers says.
extension CoordinatorAPI {
    public func getExplorerOverview(_ input: Operations.GetExplorerOverview.Input) async throws -> Operations.GetExplorerOverview.Output {
        await handle(Operations.GetExplorerOverview.Output.default) {
            .ok(.init(body: .json(try await explorerOverviewView())))
        }
    }

    func explorerOverviewView() async throws -> Components.Schemas.ExplorerOverview {
        let state = await coordinator.state
        let now = await coordinator.nowMs
        let hours = 24
        let samples = try await coordinator.presenceSamples(sinceMs: (now / 3_600_000 - Int64(hours - 1)) * 3_600_000)
        let figures = NetworkFigures(state: state, isOnline: await coordinator.presence().isOnline)
        let gpus = figures.gpus
        let models = Set(figures.gpusByModel.keys).union(figures.gpuPricesByModel.keys).sorted()
        return Components.Schemas.ExplorerOverview(
            network: networkView(state: state, figures: figures, logHead: await coordinator.logHead), gpusOnline: gpus.online, gpusBusy: gpus.busy, utilization: figures.utilization,
            gpuModels: models.map { model in
                let count = figures.gpusByModel[model] ?? .init()
                let prices = figures.gpuPricesByModel[model] ?? .init()
                let priced = prices.runs > 0
                return .init(
                    model: model, name: GPUCatalog.model(id: model)?.displayName ?? model, registered: count.registered, online: count.online,
                    proven: count.proven, busy: count.busy, pricedRuns: prices.runs,
                    priceMeanMicroPerGpuHour: priced ? prices.meanMicro : nil, priceMinMicroPerGpuHour: priced ? prices.minMicro : nil,
                    priceMaxMicroPerGpuHour: priced ? prices.maxMicro : nil
                )
            },
            workByHour: NetworkFigures.hoursOfWork(in: state, hours: hours, endingAtMs: now).map {
                .init(hourStartMs: $0.hourStartMs, gpuHours: $0.gpuHours, cpuCoreHours: $0.cpuCoreHours)
            },
            useByHour: NetworkFigures.hoursOfUse(samples, hours: hours, endingAtMs: now).map {
                .init(
                    hourStartMs: $0.hourStartMs, samples: $0.samples, gpusOnlineMean: $0.gpusOnlineMean, gpusBusyMean: $0.gpusBusyMean,
                    coresOnlineMean: $0.coresOnlineMean, coresBusyMean: $0.coresBusyMean
                )
            },
            epochs: state.epochs.suffix(24).map { .init(epoch: $0.epoch, endMs: $0.endMs, mintedMicro: $0.mintedMicro, burnedMicro: $0.burnedMicro) },
            cloudPrices: CloudReferencePrice.table.map {
                .init(
                    model: $0.model, provider: $0.provider, offer: $0.offer, usdPerGpuHourLow: $0.usdPerGpuHourLow,
                    usdPerGpuHourHigh: $0.usdPerGpuHourHigh, asOf: $0.asOf, source: $0.source
                )
            },
            referenceMicroUsdPerCru: state.parameters.referenceMicroUsdPerCru,
            referenceSetBy: state.governance.order.last { id in
                state.governance.proposals[id].map { $0.status == .enacted && $0.proposal.changes.contains { $0.name == "referenceMicroUsdPerCru" } } ?? false
            },
            verification: Self.verificationView(NetworkFigures.verification(in: state))
        )
    }

    static func verificationView(_ figures: NetworkFigures.Verification) -> Components.Schemas.VerificationFigures {
        .init(
            tasksVerified: figures.tasksVerified, tasksFailed: figures.tasksFailed, spoofersCaught: figures.spoofersCaught,
            nodesFailingProof: figures.nodesFailingProof, primaryUnitHours: figures.primaryUnitHours, checkUnitHours: figures.checkUnitHours,
            overhead: figures.overhead
        )
    }
}
