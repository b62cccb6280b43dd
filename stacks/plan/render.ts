import * as pulumi from "@pulumi/pulumi";
import { canonicalJson } from "../../config/json";
import { waitForPendingRegistrations } from "../sdk-internals";
import { mockResourceState } from "./mocks";
import { redactSerialized, resolveRedacted } from "./redact";

/**
 * The offline plan: runs the real program with the Pulumi SDK in mock mode and
 * records every resource registration as the engine would receive it. Only the
 * cloud's answers (ids, computed outputs) come from ./mocks.ts.
 */

export interface PlanResource {
  urn: string;
  type: string;
  name: string;
  parent: string | null;
  dependsOn: string[];
  inputs: Record<string, unknown>;
  protect: boolean;
  retainOnDelete: boolean;
  deleteBeforeReplace: boolean;
  /** Set when the resource is adopted with Pulumi's import option rather than created. */
  importId?: string;
  replaceOnChanges?: string[];
  /** The replacementTrigger option: when its value changes, the engine replaces the resource. */
  replacementTrigger?: unknown;
  ignoreChanges?: string[];
  provider?: string;
}

export interface Plan {
  project: string;
  stack: string;
  resources: PlanResource[];
  outputs: Record<string, unknown>;
  artifacts: Record<string, unknown>;
}

export interface ProgramResult {
  outputs: Record<string, pulumi.Input<unknown>>;
  artifacts: Record<string, pulumi.Input<unknown>>;
}

/** The subset of the gRPC RegisterResourceRequest the plan reads. */
interface RegisterRequest {
  getType(): string;
  getName(): string;
  getParent(): string;
  getCustom(): boolean;
  getObject(): { toJavaScript(): Record<string, unknown> } | undefined;
  getDependenciesList(): string[];
  getPropertydependenciesMap(): { forEach(cb: (value: { getUrnsList(): string[] }, key: string) => void): void };
  getProtect?(): boolean;
  getRetainondelete?(): boolean;
  getDeletebeforereplace(): boolean;
  getImportid(): string;
  getReplaceonchangesList(): string[];
  getReplacementTrigger?(): { toJavaScript(): unknown } | undefined;
  getIgnorechangesList(): string[];
  getProvider(): string;
  getAdditionalsecretoutputsList(): string[];
}

interface RegisterResponse {
  getUrn(): string;
  getObject(): { toJavaScript(): Record<string, unknown> } | undefined;
  setObject(value: unknown): void;
}

type Callback = (err: Error | null, response?: RegisterResponse) => void;

interface MockMonitorLike {
  registerResource(req: RegisterRequest, callback: Callback): Promise<void>;
  registerResourceOutputs(req: { getUrn(): string; getOutputs(): { toJavaScript(): Record<string, unknown> } | undefined }, callback: (err: Error | null, r?: unknown) => void): void;
}

const ROOT_STACK_TYPE = "pulumi:pulumi:Stack";

/**
 * Renders one stack. `program` runs inside a root stack resource, as under the
 * Pulumi CLI. Safe to call repeatedly in one process: each call resets the SDK.
 */
export async function renderPlan(args: {
  project: string;
  stack: string;
  program: () => Promise<ProgramResult>;
}): Promise<Plan> {
  const recorded = new Map<string, PlanResource>();
  let stackOutputs: Record<string, unknown> = {};
  let artifacts: Record<string, pulumi.Input<unknown>> = {};

  await pulumi.runtime.setMocks(
    {
      newResource: (mockArgs) => ({
        id: `${mockArgs.name}-id`,
        state: mockResourceState(mockArgs.type, mockArgs.name, mockArgs.inputs),
      }),
      call: (callArgs) => callArgs.inputs,
    },
    args.project,
    args.stack,
    false,
  );
  const monitor = pulumi.runtime.getMonitor() as unknown as MockMonitorLike;
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = async (req, callback) => {
    await register(req, (err, response) => {
      if (!err && response) {
        markAdditionalSecrets(req, response);
        record(req, response.getUrn());
      }
      callback(err, response);
    });
  };
  const registerOutputs = monitor.registerResourceOutputs.bind(monitor);
  monitor.registerResourceOutputs = (req, callback) => {
    if (req.getUrn().split("::")[2] === ROOT_STACK_TYPE)
      stackOutputs = redactSerialized(req.getOutputs()?.toJavaScript() ?? {}) as Record<string, unknown>;
    registerOutputs(req, callback);
  };

  function record(req: RegisterRequest, urn: string) {
    const dependsOn = new Set(req.getDependenciesList());
    req.getPropertydependenciesMap().forEach((deps) => deps.getUrnsList().forEach((u) => dependsOn.add(u)));
    dependsOn.delete("");
    const resource: PlanResource = {
      urn,
      type: req.getType(),
      name: req.getName(),
      parent: req.getParent() || null,
      dependsOn: [...dependsOn].sort(),
      inputs: redactSerialized(req.getObject()?.toJavaScript() ?? {}) as Record<string, unknown>,
      protect: req.getProtect?.() ?? false,
      retainOnDelete: req.getRetainondelete?.() ?? false,
      deleteBeforeReplace: req.getDeletebeforereplace(),
    };
    if (req.getImportid()) resource.importId = req.getImportid();
    if (req.getReplaceonchangesList().length) resource.replaceOnChanges = [...req.getReplaceonchangesList()].sort();
    const trigger = req.getReplacementTrigger?.();
    if (trigger) resource.replacementTrigger = redactSerialized(trigger.toJavaScript());
    if (req.getIgnorechangesList().length) resource.ignoreChanges = [...req.getIgnorechangesList()].sort();
    const provider = req.getProvider();
    if (provider) resource.provider = provider.split("::").slice(0, -1).join("::") || provider;
    recorded.set(urn, resource);
  }

  await pulumi.runtime.runInPulumiStack(async () => {
    const result = await args.program();
    artifacts = result.artifacts;
    return result.outputs;
  });
  const resolvedArtifacts = (await resolveRedacted(artifacts)) as Record<string, unknown>;
  await waitForPendingRegistrations();

  const resources = [...recorded.values()].sort((a, b) => (a.urn < b.urn ? -1 : a.urn > b.urn ? 1 : 0));
  return { project: args.project, stack: args.stack, resources, outputs: stackOutputs, artifacts: resolvedArtifacts };
}

/**
 * The engine marks a resource's `additionalSecretOutputs` secret in its state;
 * the mock monitor does not, so the plan does it here, as the engine would.
 */
function markAdditionalSecrets(req: RegisterRequest, response: RegisterResponse) {
  const names = req.getAdditionalsecretoutputsList();
  if (names.length === 0) return;
  const state = response.getObject()?.toJavaScript() ?? {};
  for (const name of names)
    if (name in state)
      state[name] = { [pulumi.runtime.specialSigKey]: pulumi.runtime.specialSecretSig, value: state[name] };
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { Struct } = require("google-protobuf/google/protobuf/struct_pb") as {
    Struct: { fromJavaScript(v: unknown): unknown };
  };
  response.setObject(Struct.fromJavaScript(state));
}

/** The plan as JSON text: keys sorted, so the same input gives byte-identical output. */
export function planToJson(plan: Plan): string {
  return JSON.stringify(JSON.parse(canonicalJson(plan)), null, 2) + "\n";
}
