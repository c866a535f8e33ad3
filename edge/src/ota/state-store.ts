import { join } from 'node:path';
import { type AgentState, agentState } from './agent-state.ts';
import { type FsyncPolicy, readFileIfExists, writeFileAtomic } from './atomic-file.ts';

/** Where the agent keeps its own small state between restarts. */
export interface AgentStateStore {
  /** The saved state; `idle` when there is none. Throws only if the storage itself fails. */
  load(): Promise<AgentState>;
  /** Saves durably: after it resolves, a power cut keeps this state. */
  save(state: AgentState): Promise<void>;
}

const IDLE: AgentState = { phase: 'idle' };

/**
 * Parses a saved state. A file that does not parse (hand-edited, from another agent version) is
 * treated as idle: the agent then repairs the slots to a known-good boot and asks for its job again,
 * which start-next hands back while it is IN_PROGRESS.
 */
export function parseAgentState(text: string | undefined, onCorrupt?: (error: unknown) => void): AgentState {
  if (text === undefined) return IDLE;
  try {
    return agentState.parse(JSON.parse(text));
  } catch (error) {
    onCorrupt?.(error);
    return IDLE;
  }
}

/** The agent state in one JSON file, replaced atomically (temp + fsync + rename + directory fsync). */
export class FileAgentStateStore implements AgentStateStore {
  readonly path: string;

  constructor(
    directory: string,
    private readonly onCorrupt?: (error: unknown) => void,
    /** `never` for a simulated device. @default 'always' */
    private readonly fsync: FsyncPolicy = 'always',
  ) {
    this.path = join(directory, 'ota-agent.json');
  }

  async load(): Promise<AgentState> {
    return parseAgentState(await readFileIfExists(this.path), this.onCorrupt);
  }

  async save(state: AgentState): Promise<void> {
    await writeFileAtomic(this.path, `${JSON.stringify(agentState.parse(state), null, 2)}\n`, this.fsync);
  }
}

/** The agent state in memory (survives "restarts" of an agent within one test). */
export class MemoryAgentStateStore implements AgentStateStore {
  private text: string | undefined;

  async load(): Promise<AgentState> {
    return parseAgentState(this.text);
  }

  async save(state: AgentState): Promise<void> {
    this.text = JSON.stringify(agentState.parse(state));
  }

  /** What is stored, for assertions. */
  peek(): AgentState {
    return parseAgentState(this.text);
  }
}
