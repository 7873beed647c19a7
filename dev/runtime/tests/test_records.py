import argparse
import os

import boto3
from moto import mock_aws

import runtime


def a_runtime(tmp_path):
    args = argparse.Namespace(region="us-east-1", endpoint=None, cluster=None, state=None,
                              images=os.path.join(runtime.HERE, "images.json"), user_images=None,
                              volumes=str(tmp_path), network="loopback", max_tasks=1)
    return runtime.Runtime(args)


@mock_aws
def test_a_service_deleted_while_records_are_refreshed_answers_nothing_and_the_rest_still_answer(tmp_path):
    sd = boto3.client("servicediscovery", region_name="us-east-1")
    op = sd.create_private_dns_namespace(Name="openfaas.local", Vpc="vpc-1")["OperationId"]
    ns = sd.get_operation(OperationId=op)["Operation"]["Targets"]["NAMESPACE"]
    dns = {"DnsRecords": [{"Type": "A", "TTL": 5}]}
    kept = sd.create_service(Name="kept", NamespaceId=ns, DnsConfig=dns)["Service"]["Id"]
    gone = sd.create_service(Name="gone", NamespaceId=ns, DnsConfig=dns)["Service"]["Id"]
    sd.register_instance(ServiceId=kept, InstanceId="t1", Attributes={"AWS_INSTANCE_IPV4": "10.0.0.2"})
    rt = a_runtime(tmp_path)
    listed = rt.sd.list_services
    def list_then_delete(**kw):
        # The provider deletes a function between the runtime's listing and its next call.
        found = listed(**kw)
        sd.delete_service(Id=gone)
        return found
    rt.sd.list_services = list_then_delete

    rt.refresh_records()

    assert rt.records.answer("kept.openfaas.local.") == (5, [("10.0.0.2", 8080)])
    assert rt.records.answer("gone.openfaas.local.") is None
