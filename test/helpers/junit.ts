// Validates JUnit files with xmllint against the schemas CI systems use.

import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const exec = promisify(execFile);

/** Jenkins' xUnit schema, shipped beside the project in ../shared/schemas. */
export const JENKINS_XSD = fileURLToPath(new URL('../../../shared/schemas/jenkins-xunit-junit-10.xsd', import.meta.url));

/** Rejects with xmllint's complaint unless the file validates. */
export async function validateJunit(path: string, schema = JENKINS_XSD): Promise<void> {
  try {
    await exec('xmllint', ['--noout', '--schema', schema, path]);
  } catch (err) {
    const { stderr } = err as { stderr?: string };
    throw new Error(`${path} does not validate against ${schema}:\n${stderr ?? String(err)}`);
  }
}
