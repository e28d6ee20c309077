// Warden's own storage account: Functions host state, Durable Functions task hub (queues, tables,
// blobs), the Flex Consumption deployment package, Warden's audit/idempotency tables and the
// Event Grid dead-letter container. Shared-key access is OFF: every caller (the Function host,
// the Flex deployment, Event Grid dead-lettering) authenticates with a managed identity.
param location string
param tags object
param storageAccountName string
param deploymentContainerName string
param deadLetterContainerName string

@description('Redundancy of Warden\'s state and audit trail. Geo-redundant by default so the audit trail survives a regional outage.')
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GRS'
  'Standard_GZRS'
  'Standard_RAGRS'
  'Standard_RAGZRS'
])
param skuName string = 'Standard_GRS'

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  #checkov:skip=CKV_AZURE_35: No VNet in this deployment: the Flex Consumption app, Event Grid dead-lettering and the Flex deployment all reach the account over its public endpoint. Shared keys are disabled, so access needs an Entra token plus a data-plane role.
  #checkov:skip=CKV_AZURE_43: The name is computed (take('stwarden<uniqueString>', 24): 3-24 lowercase letters and digits), which the check cannot evaluate.
  #checkov:skip=CKV_AZURE_59: Same reason as CKV_AZURE_35: public network access stays enabled until the VNet-integrated variant exists; only Entra-authenticated callers with data roles get in.
  name: storageAccountName
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: skuName
  }
  properties: {
    accessTier: 'Hot'
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
    encryption: {
      keySource: 'Microsoft.Storage'
      requireInfrastructureEncryption: true
      services: {
        blob: {
          enabled: true
          keyType: 'Account'
        }
        file: {
          enabled: true
          keyType: 'Account'
        }
        queue: {
          enabled: true
          keyType: 'Account'
        }
        table: {
          enabled: true
          keyType: 'Account'
        }
      }
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
  properties: {
    deleteRetentionPolicy: {
      enabled: true
      days: 7
    }
    containerDeleteRetentionPolicy: {
      enabled: true
      days: 7
    }
  }
}

// Flex Consumption deployment package (azd deploy uploads here with the deployer's Entra token;
// the app reads it with its system-assigned identity).
resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

// Event Grid dead-letter destination for every Warden event subscription.
resource deadLetterContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deadLetterContainerName
  properties: {
    publicAccess: 'None'
  }
}

output name string = storage.name
output id string = storage.id
output blobEndpoint string = storage.properties.primaryEndpoints.blob
output queueEndpoint string = storage.properties.primaryEndpoints.queue
output tableEndpoint string = storage.properties.primaryEndpoints.table
output deploymentContainerName string = deploymentContainer.name
output deadLetterContainerName string = deadLetterContainer.name
