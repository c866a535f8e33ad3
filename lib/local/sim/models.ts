import { modelReport } from '../../../edge/src/agent/model-files.ts';
import { AnomalyDetector, type ModelSource } from '../../../edge/src/ml/anomaly-detector.ts';
import { BatchingScorer, type FeatureScorer } from '../../../edge/src/ml/batching-scorer.ts';
import { ModelRejectedError } from '../../../edge/src/ml/errors.ts';
import { ModelStore, resolveStartupModel } from '../../../edge/src/ml/model-store.ts';
import type { DeliveredModel, ModelInstaller, ModelStagingFile } from '../../../edge/src/ota/ports.ts';
import type { ModelReport } from '../../../edge/src/shadow/ports.ts';

/** One loaded model file: one onnxruntime session, and the devices serving it. */
interface Loaded {
  readonly detector: AnomalyDetector;
  /** Devices sampling in the same tick share one `session.run`. */
  readonly scorer: BatchingScorer;
  users: number;
}

/**
 * The simulated fleet's anomaly models. Each device serves its own model, as a real one does (a
 * model-update job changes one device's model, not the fleet's), but a thousand devices cannot each
 * hold an onnxruntime session: devices that serve the same file (by SHA-256) share one detector,
 * loaded — and so verified — the first time a device needs it, and closed when the last one moves off.
 */
export class SimulatedModels {
  private readonly loaded = new Map<string, Promise<Loaded>>();

  /** @param factory the model shipped with the agent (`edge/model/`), which a new device starts on */
  constructor(readonly factory: () => Promise<ModelSource>) {}

  /**
   * The detector for `source`, loaded if no device serves it yet.
   * @throws ModelRejectedError when the file is not the delivered version or cannot be served
   */
  async acquire(source: ModelSource): Promise<Loaded> {
    let entry = this.loaded.get(source.sha256);
    if (entry === undefined) {
      entry = AnomalyDetector.load(source).then((detector) => ({
        detector,
        scorer: new BatchingScorer(detector),
        users: 0,
      }));
      this.loaded.set(source.sha256, entry);
      // A refused file is not kept: another delivery of it is judged again.
      entry.catch(() => this.loaded.delete(source.sha256));
    }
    const loaded = await entry;
    // Loading verified the path it was given; another device's copy must have the same bytes too.
    if (loaded.detector.info.sha256 !== source.sha256 || loaded.detector.info.version !== source.version)
      throw new ModelRejectedError(
        'version-mismatch',
        source.version,
        `${source.path} is not the loaded model`,
      );
    loaded.users++;
    return loaded;
  }

  /** A device no longer serves `loaded`; its session closes when nobody does. */
  async release(loaded: Loaded): Promise<void> {
    loaded.users--;
    const sha256 = loaded.detector.info.sha256;
    if (loaded.users > 0 || (await this.loaded.get(sha256)) !== loaded) return;
    this.loaded.delete(sha256);
    await loaded.detector.close();
  }

  /** Closes every detector (the fleet stops). */
  async close(): Promise<void> {
    const all = await Promise.allSettled(this.loaded.values());
    this.loaded.clear();
    for (const entry of all) if (entry.status === 'fulfilled') await entry.value.detector.close();
  }
}

/**
 * One simulated device's model: what it scores with and reports, and the OTA agent's installer for
 * `model-update` jobs. Files live in the device's own {@link ModelStore} (`<device dir>/models/`), as on
 * a real device: a delivered model is promoted, loaded (verified again: digest, metadata, a probe run),
 * and only then made current; a refused one is deleted and the old one keeps serving.
 */
export class SimulatedDeviceModel implements FeatureScorer, ModelInstaller {
  private constructor(
    private readonly models: SimulatedModels,
    private readonly store: ModelStore,
    private serving: Loaded,
    /** Called after a new model serves (the device reports its shadow and status at once). */
    private readonly onChange: () => void,
  ) {}

  /** The model the device starts on: the installed one if it still verifies, else the factory model. */
  static async open(
    models: SimulatedModels,
    dir: string,
    onChange: () => void,
  ): Promise<SimulatedDeviceModel> {
    const store = new ModelStore(dir);
    const startup = await resolveStartupModel(store, models.factory);
    let serving: Loaded;
    try {
      serving = await models.acquire(startup.source);
    } catch (error) {
      if (!(error instanceof ModelRejectedError) || startup.origin === 'factory') throw error;
      serving = await models.acquire(await models.factory());
    }
    return new SimulatedDeviceModel(models, store, serving, onChange);
  }

  get intervalRange(): { readonly min: number; readonly max: number } {
    return this.serving.detector.intervalRange;
  }

  scoreFeatures(features: Float32Array, rows: number): Promise<Float32Array> {
    return this.serving.scorer.scoreFeatures(features, rows);
  }

  /** What the shadow reports about the model this device serves. */
  report(): ModelReport {
    return modelReport(this.serving.detector.info);
  }

  servingVersion(): string | undefined {
    return this.serving.detector.info.version;
  }

  staging(version: string): Promise<ModelStagingFile> {
    return this.store.staging(version);
  }

  async install(model: DeliveredModel, signal: AbortSignal): Promise<void> {
    signal.throwIfAborted();
    const path = await this.store.promote(model.path, model.version);
    let next: Loaded;
    try {
      next = await this.models.acquire({
        path,
        version: model.version,
        sha256: model.sha256,
        sizeBytes: model.sizeBytes,
      });
    } catch (error) {
      await this.store.remove(model.version);
      throw error;
    }
    await this.store.setCurrent({ version: model.version, sha256: model.sha256, sizeBytes: model.sizeBytes });
    const previous = this.serving;
    this.serving = next;
    await this.models.release(previous);
    await this.store.prune(model.version);
    this.onChange();
  }

  /** The device powers off: it no longer holds its model. */
  async close(): Promise<void> {
    await this.models.release(this.serving);
  }
}
