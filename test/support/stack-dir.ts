import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";

/** A fleet of its own (two MySQL servers, MongoDB, RabbitMQ, a load balancer), so no test reads the repository's stack files. */
export const TEST_FLEET_YAML = `name: openedx-im
runtime:
  name: nodejs
config:
  openedx-im:openstack:
    value:
      network: appservers
      defaultImage: ubuntu-20.04
      sshPublicKey: ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB0Q3HLbJ5nGrW3kVdfNKAXozrVHAm+f7dFqyYv0Ic9Z test
  openedx-im:loadBalancer:
    value:
      sshHost: lb.example.net
      sshUser: openedx-im
      publicHostname: lb.example.net
  openedx-im:mysqlServers:
    value:
      - name: mysql-a
        host: mysql-a.example.net
        username: admin
      - name: mysql-b
        host: mysql-b.example.net
        username: admin
  openedx-im:mongodb:
    value:
      projectId: 5f1d0c3b9e2a4b6c8d0e1f2a
      clusterName: shared
      hosts: [mongo.example.net:27017]
  openedx-im:rabbitmq:
    value:
      managementUrl: https://rabbitmq.example.net:15671
      host: rabbitmq.example.net
`;

/** A production stack file of the test fleet: persistent databases on mysql-b, two appservers. */
export const PRODUCTION_STACK_YAML = `config:
  openedx-im:instance:
    name: A Site
    subDomain: courses
    baseDomain: example.org
    lifecycle: production
    mysqlServer: mysql-b
    appServers:
      - id: a1
        release: quince
        extraSettings:
          EDXAPP_PLATFORM_NAME: A Site
    activeAppServer: a1
`;

export const SANDBOX_STACK_YAML = `config:
  openedx-im:instance:
    name: A sandbox
    subDomain: pr42
    baseDomain: sandbox.example.org
    lifecycle: sandbox
`;

/** A project directory holding the test fleet's Pulumi.yaml and the given stack files (`{stack: yaml}`). */
export class StackDir {
  readonly root = mkdtempSync(path.join(tmpdir(), "openedx-im-stacks-"));
  constructor(stacks: Record<string, string> = {}, fleet = TEST_FLEET_YAML) {
    writeFileSync(path.join(this.root, "Pulumi.yaml"), fleet);
    for (const [stack, text] of Object.entries(stacks)) this.write(stack, text);
  }
  write(stack: string, text: string): void {
    writeFileSync(path.join(this.root, `Pulumi.${stack}.yaml`), text);
  }
  remove(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}
