"""Creates in the emulator what terraform/ creates in AWS, and prints the provider's settings.

Run by scripts/dev with the project venv's Python (boto3 comes with moto).
Output: `KEY=value` lines for faas-ecs's environment.
"""

import json
import os
import shlex

import boto3

ENDPOINT = os.environ["AWS_ENDPOINT_URL"]
REGION = os.environ.get("AWS_REGION", "us-east-1")
CLUSTER = "openfaas"
DOMAIN = "openfaas.local"
LOG_GROUP = "/openfaas/functions"


def client(service):
    return boto3.client(service, endpoint_url=ENDPOINT, region_name=REGION)


def main():
    ec2, ecs, sd, iam, logs = (client(s) for s in ("ec2", "ecs", "servicediscovery", "iam", "logs"))

    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    # Fargate tasks need DNS hostnames in their VPC, as in AWS.
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsSupport={"Value": True})
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24")["Subnet"]["SubnetId"] for i in (1, 2)
    ]
    sg = ec2.create_security_group(
        GroupName="openfaas-functions", Description="OpenFaaS functions", VpcId=vpc
    )["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=sg, IpPermissions=[{"IpProtocol": "tcp", "FromPort": 8080, "ToPort": 8080,
                                    "UserIdGroupPairs": [{"GroupId": sg}]}]
    )

    ecs.create_cluster(clusterName=CLUSTER, capacityProviders=["FARGATE", "FARGATE_SPOT"])
    op = sd.create_private_dns_namespace(Name=DOMAIN, Vpc=vpc)
    namespace_id = sd.get_operation(OperationId=op["OperationId"])["Operation"]["Targets"]["NAMESPACE"]
    logs.create_log_group(logGroupName=LOG_GROUP)

    assume = json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"},
                       "Action": "sts:AssumeRole"}],
    })
    execution_role = iam.create_role(RoleName="openfaas-function-execution",
                                     AssumeRolePolicyDocument=assume)["Role"]["Arn"]
    task_role = iam.create_role(RoleName="openfaas-function-task",
                                AssumeRolePolicyDocument=assume)["Role"]["Arn"]
    reader_role = iam.create_role(RoleName="openfaas-reports-reader",
                                  AssumeRolePolicyDocument=assume)["Role"]["Arn"]
    # Two profiles and a service account to try (README, Profiles); the local runtime runs
    # their functions like any other.
    profiles = {
        "spot": {"capacityProviderStrategy": [{"capacityProvider": "FARGATE_SPOT", "weight": 1}]},
        "graviton": {"runtimePlatform": {"cpuArchitecture": "ARM64"}},
    }

    settings = {
        "FAAS_ECS_CLUSTER": CLUSTER,
        "FAAS_ECS_SUBNETS": ",".join(subnets),
        "FAAS_ECS_SECURITY_GROUPS": sg,
        "FAAS_ECS_CLOUDMAP_NAMESPACE_ID": namespace_id,
        "FAAS_ECS_EXECUTION_ROLE_ARN": execution_role,
        "FAAS_ECS_TASK_ROLE_ARN": task_role,
        "FAAS_ECS_LOG_GROUP": LOG_GROUP,
        # dev/runtime/images.json maps this image to the locally built binaries.
        "FAAS_ECS_SECRETS_IMAGE": "faas-ecs:local",
        "FAAS_ECS_PROFILES": json.dumps(profiles, separators=(",", ":")),
        "FAAS_ECS_SERVICE_ACCOUNTS": json.dumps({"reports-reader": reader_role}, separators=(",", ":")),
    }
    # Shell-quoted: scripts/dev sources the file.
    for key, value in settings.items():
        print(f"{key}={shlex.quote(value)}")


if __name__ == "__main__":
    main()
