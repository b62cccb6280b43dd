import * as pulumi from "@pulumi/pulumi";
import { ConfigProblems } from "./load-config";
import { runProgram } from "./program";

// The Pulumi CLI's entry: invalid config is reported one line per problem,
// without a stack trace (RunError), and nothing is declared.
export = async () => {
  try {
    return (await runProgram()).outputs;
  } catch (error) {
    if (error instanceof ConfigProblems) {
      for (const problem of error.problems) pulumi.log.error(problem);
      throw new pulumi.RunError(`${error.problems.length} configuration problem(s); see above`);
    }
    throw error;
  }
};
