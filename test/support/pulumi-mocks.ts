import * as pulumi from "@pulumi/pulumi";

/**
 * The Pulumi SDK in mock mode, with every registration recorded as the engine
 * would receive it: inputs with secrets still wrapped, dependencies and options.
 * Only the cloud's answers come from the test. Set the mocks in a `before` hook,
 * then import the code under test: resources register when they are constructed.
 */

export interface Registration {
  type: string;
  name: string;
  urn: string;
  parent: string;
  /** Inputs as sent to the engine; a secret is `{[sig]: secretSig, value}` (see `isSecretValue`). */
  inputs: Record<string, unknown>;
  dependencies: string[];
  protect: boolean;
  retainOnDelete: boolean;
  deleteBeforeReplace: boolean;
  additionalSecretOutputs: string[];
  replaceOnChanges: string[];
  ignoreChanges: string[];
  importId: string;
}

interface RegisterRequest {
  getType(): string;
  getName(): string;
  getParent(): string;
  getObject(): { toJavaScript(): Record<string, unknown> } | undefined;
  getDependenciesList(): string[];
  getProtect?(): boolean;
  getRetainondelete?(): boolean;
  getDeletebeforereplace(): boolean;
  getAdditionalsecretoutputsList(): string[];
  getReplaceonchangesList(): string[];
  getIgnorechangesList(): string[];
  getImportid(): string;
}
type Callback = (err: Error | null, response?: { getUrn(): string }) => void;
type Register = (req: RegisterRequest, callback: Callback) => Promise<void>;

export interface RecordingMocksOptions {
  stack?: string;
  /** A resource's state after creation; default: its inputs. */
  state?: (args: pulumi.runtime.MockResourceArgs) => Record<string, unknown>;
}

/** Sets the mocks and returns the list every later registration is appended to. */
export async function setUpRecordingMocks(options: RecordingMocksOptions = {}): Promise<Registration[]> {
  const registrations: Registration[] = [];
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => ({ id: `${args.name}-id`, state: options.state ? options.state(args) : { ...args.inputs } }),
      call: (args) => args.inputs,
    },
    "openedx-im",
    options.stack ?? "test",
    false,
  );
  const monitor = pulumi.runtime.getMonitor() as unknown as { registerResource: Register };
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = async (req, callback) => {
    await register(req, (err, response) => {
      registrations.push({
        type: req.getType(),
        name: req.getName(),
        urn: response?.getUrn() ?? "",
        parent: req.getParent(),
        inputs: req.getObject()?.toJavaScript() ?? {},
        dependencies: req.getDependenciesList(),
        protect: req.getProtect?.() ?? false,
        retainOnDelete: req.getRetainondelete?.() ?? false,
        deleteBeforeReplace: req.getDeletebeforereplace(),
        additionalSecretOutputs: req.getAdditionalsecretoutputsList(),
        replaceOnChanges: req.getReplaceonchangesList(),
        ignoreChanges: req.getIgnorechangesList(),
        importId: req.getImportid(),
      });
      callback(err, response);
    });
  };
  return registrations;
}

export function isSecretValue(value: unknown): boolean {
  return (
    typeof value === "object" &&
    value !== null &&
    (value as Record<string, unknown>)[pulumi.runtime.specialSigKey] === pulumi.runtime.specialSecretSig
  );
}

/** The plain value of a serialized input, secret or not. */
export function plain(value: unknown): unknown {
  return isSecretValue(value) ? (value as { value: unknown }).value : value;
}

/** Resolves once every pending registration has been answered. */
export async function settle(): Promise<void> {
  const internals = pulumi.runtime as unknown as { waitForRPCs?: () => Promise<void> };
  if (internals.waitForRPCs) await internals.waitForRPCs();
}

/** Any Input as a Promise, so tests await values instead of nesting apply callbacks. */
export function unwrap<T>(value: pulumi.Input<T>): Promise<T> {
  return new Promise((resolve) => pulumi.output(value).apply((resolved) => resolve(resolved as T)));
}
