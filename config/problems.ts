/**
 * Invalid configuration: each line names a key and what it allows. Thrown at the
 * edge (config validation) and by the few checks only the program can make (an
 * adopted user's password missing from credentials); the CLI entries print the
 * lines without a stack trace.
 */
export class ConfigProblems extends Error {
  constructor(readonly problems: string[]) {
    super(`the stack configuration is invalid:\n${problems.map((p) => `  ${p}`).join("\n")}`);
    this.name = "ConfigProblems";
  }
}
