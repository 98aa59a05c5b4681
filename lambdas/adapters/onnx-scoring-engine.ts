import * as ort from 'onnxruntime-node';
import type { Preprocessing } from '#core/model/metadata.ts';
import type { ScoringEngine, ScoringSession } from '#core/serving/ports.ts';

export interface OnnxScoringEngineOptions {
  /**
   * Threads per operator. Set explicitly: onnxruntime reads CPU topology from /sys, which
   * Lambda restricts. Left out of the session options when undefined (passing undefined throws).
   */
  readonly intraOpNumThreads?: number;
}

/** A binary classifier session whose single float output is the positive-class probability. */
class OnnxScoringSession implements ScoringSession {
  constructor(
    private readonly session: ort.InferenceSession,
    private readonly inputName: string,
    private readonly outputName: string,
    private readonly columns: number,
  ) {}

  async score(input: Float32Array, rows: number): Promise<Float32Array> {
    const feeds = { [this.inputName]: new ort.Tensor('float32', input, [rows, this.columns]) };
    // Ask for the one tensor output only: classifiers may carry non-tensor outputs (ZipMap) that onnxruntime-node cannot return.
    const results = await this.session.run(feeds, [this.outputName]);
    const output = results[this.outputName];
    if (output === undefined || !(output.data instanceof Float32Array)) {
      throw new Error(`output "${this.outputName}" is missing or not float32`);
    }
    if (output.data.length !== rows) {
      throw new Error(`output "${this.outputName}" has ${output.data.length} values for ${rows} rows`);
    }
    return output.data;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

/** Creates onnxruntime-node sessions and checks the graph matches the preprocessing metadata. */
export class OnnxScoringEngine implements ScoringEngine {
  constructor(private readonly options: OnnxScoringEngineOptions = {}) {}

  async createSession(bytes: Uint8Array, preprocessing: Preprocessing): Promise<ScoringSession> {
    const sessionOptions: ort.InferenceSession.SessionOptions = {
      graphOptimizationLevel: 'all',
      executionMode: 'sequential',
      // A failed run throws with onnxruntime's message, which the handler logs as structured JSON; onnxruntime's own
      // copy (coloured plain text on stderr) would only add an unparsed line per failure to the function's log.
      logSeverityLevel: 4,
      ...(this.options.intraOpNumThreads === undefined ? {} : { intraOpNumThreads: this.options.intraOpNumThreads }),
    };
    const session = await ort.InferenceSession.create(bytes, sessionOptions);
    if (!session.inputNames.includes(preprocessing.input_name)) {
      await session.release();
      throw new Error(`the graph has no input "${preprocessing.input_name}" (it has ${session.inputNames.join(', ')})`);
    }
    if (!session.outputNames.includes(preprocessing.output_name)) {
      await session.release();
      throw new Error(`the graph has no output "${preprocessing.output_name}" (it has ${session.outputNames.join(', ')})`);
    }
    return new OnnxScoringSession(session, preprocessing.input_name, preprocessing.output_name, preprocessing.columns);
  }
}
