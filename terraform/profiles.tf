# Profiles as faas-ecs reads them (FAAS_ECS_PROFILES): the ECS API's field names, unset fields left out.

locals {
  profiles = {
    for name, p in var.profiles : name => {
      for field, value in {
        launchType = p.launch_type
        capacityProviderStrategy = p.capacity_provider_strategy == null ? null : [
          for item in p.capacity_provider_strategy : {
            capacityProvider = item.capacity_provider
            weight           = item.weight
            base             = item.base
          }
        ]
        runtimePlatform = p.runtime_platform == null ? null : {
          for k, v in {
            cpuArchitecture       = p.runtime_platform.cpu_architecture
            operatingSystemFamily = p.runtime_platform.operating_system_family
          } : k => v if v != null
        }
        subnets              = p.subnets
        securityGroups       = p.security_groups
        assignPublicIp       = p.assign_public_ip
        taskRoleArn          = p.task_role_arn
        ephemeralStorageGiB  = p.ephemeral_storage_gib
        placementConstraints = p.placement_constraints
        placementStrategy = p.placement_strategy == null ? null : [
          for s in p.placement_strategy : { for k, v in { type = s.type, field = s.field } : k => v if v != null }
        ]
        gpu = p.gpu
      } : field => value if value != null
    }
  }

  # A profile may run functions only as a role the provider may pass.
  profile_roles_not_allowed = [
    for name, p in var.profiles : name
    if p.task_role_arn != null && !contains(local.function_roles, coalesce(p.task_role_arn, "-"))
  ]
}
