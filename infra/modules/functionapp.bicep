// Warden's Function App on Flex Consumption (FC1, Linux, Python 3.11) with a system-assigned
// managed identity. No secrets in app settings: storage, App Insights, Event Grid and Event Hubs
// are reached with the identity; the approval-link key (and the optional Teams URL and Easy Auth
// secret) are Key Vault references.
param location string
param tags object
param functionAppName string
param planName string
param storageAccountName string
param deploymentContainerName string
param appInsightsName string
param maximumInstanceCount int
param instanceMemoryMB int
param taskHubName string
@description('Names of the Key Vaults holding account keys (WARDEN_KEY_VAULTS).')
param keyVaultNames array = []
param monitoredSubscriptionIds array
param logAnalyticsWorkspaceCustomerId string
param notifyTopicEndpoint string
param approverRole string
param dryRun bool
param linkSigningKeySecretUri string
param teamsWebhookSecretUri string = ''
param authClientSecretUri string = ''
param eventHubNamespaceFqdn string = ''
param eventHubName string = ''
param eventHubConsumerGroup string = ''
param authClientId string = ''
param authTenantId string = tenant().tenantId

@description('Flex Consumption zone redundancy (only in regions that offer it; needs ZRS/GZRS storage).')
param zoneRedundant bool = false

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: appInsightsName
}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  #checkov:skip=CKV_AZURE_225: Zone redundancy is an availability choice, not a security control, and Flex Consumption offers it only in some regions (with ZRS storage); set zoneRedundant=true where available.
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
    zoneRedundant: zoneRedundant
  }
}

resource site 'Microsoft.Web/sites@2024-04-01' = {
  #checkov:skip=CKV_AZURE_17: Client certificates would break Event Grid webhook delivery and browser sign-in; callers authenticate with the Event Grid system key or App Service Authentication (Entra ID).
  #checkov:skip=CKV_AZURE_212: Flex Consumption scales per function from zero (maximumInstanceCount); siteConfig.numberOfWorkers does not apply to this plan.
  #checkov:skip=CKV_AZURE_213: App Service health check (healthCheckPath) targets always-on instances of dedicated plans; on Flex Consumption, probe GET /api/health from outside instead.
  #checkov:skip=CKV_AZURE_222: Event Grid (AzureFunction endpoint) and the approvers' browsers reach the app over its public HTTPS endpoint; approval routes sit behind App Service Authentication.
  name: functionAppName
  location: location
  tags: union(tags, {
    'azd-service-name': 'warden'
  })
  kind: 'functionapp,linux'
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    clientCertEnabled: false
    publicNetworkAccess: 'Enabled'
    siteConfig: {
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      remoteDebuggingEnabled: false
      cors: {
        allowedOrigins: []
      }
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'SystemAssignedIdentity'
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'python'
        version: '3.11'
      }
    }
  }
}

// Basic-auth (publishing profile) deployment and FTP are off: azd deploys with Entra tokens.
resource ftpCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scmCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'scm'
  properties: {
    allow: false
  }
}

var keyVaultRef = '@Microsoft.KeyVault(SecretUri={0})'

var baseSettings = {
  // Functions host storage and the Durable task hub, with the managed identity (no keys).
  AzureWebJobsStorage__accountName: storage.name
  AzureWebJobsStorage__credential: 'managedidentity'
  // App Insights with Entra auth (local auth is disabled on the component).
  APPLICATIONINSIGHTS_CONNECTION_STRING: appInsights.properties.ConnectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'Authorization=AAD'
  // Warden (shared/settings.py)
  WARDEN_TASK_HUB: taskHubName
  WARDEN_SUBSCRIPTION_IDS: join(monitoredSubscriptionIds, ',')
  WARDEN_KEY_VAULTS: join(keyVaultNames, ',')
  WARDEN_LOG_ANALYTICS_WORKSPACE_ID: logAnalyticsWorkspaceCustomerId
  WARDEN_IDENTITY_PRINCIPAL_ID: site.identity.principalId
  WARDEN_TABLES_ENDPOINT: storage.properties.primaryEndpoints.table
  WARDEN_NOTIFY_TOPIC_ENDPOINT: notifyTopicEndpoint
  WARDEN_APPROVER_ROLE: approverRole
  WARDEN_LINK_SIGNING_KEY: format(keyVaultRef, linkSigningKeySecretUri)
  WARDEN_PUBLIC_BASE_URL: 'https://${site.properties.defaultHostName}'
  WARDEN_DRY_RUN: dryRun ? 'true' : 'false'
}

var teamsSettings = empty(teamsWebhookSecretUri) ? {} : {
  WARDEN_TEAMS_WEBHOOK_URL: format(keyVaultRef, teamsWebhookSecretUri)
}

// Identity-based Event Hubs connection named WARDEN_EVENTHUB (connection: "WARDEN_EVENTHUB" in the
// Event Hubs trigger), plus the hub and consumer group names.
var eventHubSettings = empty(eventHubNamespaceFqdn) ? {} : {
  WARDEN_EVENTHUB__fullyQualifiedNamespace: eventHubNamespaceFqdn
  WARDEN_EVENTHUB_NAME: eventHubName
  WARDEN_EVENTHUB_CONSUMER_GROUP: eventHubConsumerGroup
}

var authSettings = empty(authClientSecretUri) ? {} : {
  MICROSOFT_PROVIDER_AUTHENTICATION_SECRET: format(keyVaultRef, authClientSecretUri)
}

resource appSettings 'Microsoft.Web/sites/config@2024-04-01' = {
  #checkov:skip=CKV_AZURE_13: appsettings config child: false positive. checkov evaluates every Microsoft.Web/sites/config child as if it were the v1 'authsettings' config. App Service Authentication is configured with authsettingsV2 in functionapp-auth.bicep.
  #checkov:skip=CKV_AZURE_63: appsettings config child: false positive. HTTP logging is a site-level App Service (IIS/Kestrel front-end) setting, not a property of this config child; the Function App logs requests to Application Insights.
  #checkov:skip=CKV_AZURE_65: appsettings config child: false positive. Detailed error pages are a site-level App Service setting, not a property of this config child (and would leak internals if enabled).
  #checkov:skip=CKV_AZURE_66: appsettings config child: false positive. Failed request tracing is a site-level App Service setting, not a property of this config child; failures are traced in Application Insights.
  #checkov:skip=CKV_AZURE_80: appsettings config child: false positive. Warden is Python 3.11 on Linux (functionAppConfig.runtime); there is no .NET Framework version to set.
  #checkov:skip=CKV_AZURE_88: appsettings config child: false positive. Flex Consumption uses no Azure Files content share; code is deployed to a blob container with identity auth.
  #checkov:skip=CKV_AZURE_222: appsettings config child: false positive. publicNetworkAccess is set on the site resource itself (and suppressed there with its reason).
  parent: site
  name: 'appsettings'
  properties: union(baseSettings, teamsSettings, eventHubSettings, authSettings)
}

// App Service Authentication (Entra ID) protecting the approval routes; see functionapp-auth.bicep.
module auth 'functionapp-auth.bicep' = if (!empty(authClientId)) {
  name: 'warden-functionapp-auth'
  params: {
    functionAppName: site.name
    authClientId: authClientId
    authTenantId: authTenantId
    clientSecretSettingName: empty(authClientSecretUri) ? '' : 'MICROSOFT_PROVIDER_AUTHENTICATION_SECRET'
  }
  dependsOn: [
    appSettings
  ]
}

output name string = site.name
output id string = site.id
output principalId string = site.identity.principalId
output url string = 'https://${site.properties.defaultHostName}'
