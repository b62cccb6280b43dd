import * as pulumi from "@pulumi/pulumi";
import { checkMatrix } from "../config/matrix/check";
import { versionMatrix } from "../config/matrix/data";
import { ConfigProblems } from "./load-config";
import { runProgram } from "./program";

// The Pulumi CLI's entry: invalid config is reported one line per problem,
// without a stack trace (RunError), and nothing is declared.
export = async () => {
  // Facts about the matrix worth acting on (a release no deployment uses any more); errors stop the program below.
  for (const notice of checkMatrix(versionMatrix).notices) pulumi.log.info(`version matrix: ${notice}`);
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
