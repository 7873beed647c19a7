# Points the AWS provider of the module at LocalStack. Copy beside a configuration that uses the
# module (localstack/main.tf does), or into terraform/examples/complete.

provider "aws" {
  region                      = "us-east-1"
  access_key                  = "test"
  secret_key                  = "test"
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_requesting_account_id  = true

  endpoints {
    ec2              = "http://localhost:4566"
    ecs              = "http://localhost:4566"
    elbv2            = "http://localhost:4566"
    iam              = "http://localhost:4566"
    logs             = "http://localhost:4566"
    route53          = "http://localhost:4566"
    secretsmanager   = "http://localhost:4566"
    servicediscovery = "http://localhost:4566"
    sts              = "http://localhost:4566"
  }
}
