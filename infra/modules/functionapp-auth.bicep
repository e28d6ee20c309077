// App Service Authentication (Easy Auth v2) with the Entra ID provider for Warden's Function App.
// Sign-in is required everywhere except the paths that machines call:
//   - /runtime/webhooks/eventgrid : Event Grid trigger delivery (authenticated by the system key)
//   - /api/health                 : liveness probe (reveals no configuration)
// So /api/approvals* and the approval page require an Entra sign-in; Warden then checks the
// Warden.Approver app role in the X-MS-CLIENT-PRINCIPAL header the platform injects.
// Bicep cannot create the app registration or its app role: create them first (docs/deploy.md)
// and pass the client id.
param functionAppName string
param authClientId string
param authTenantId string

@description('App setting holding the client secret (a Key Vault reference), or empty for ID-token-only sign-in.')
param clientSecretSettingName string = ''

resource site 'Microsoft.Web/sites@2024-04-01' existing = {
  name: functionAppName
}

var registration = empty(clientSecretSettingName) ? {
  openIdIssuer: '${environment().authentication.loginEndpoint}${authTenantId}/v2.0'
  clientId: authClientId
} : {
  openIdIssuer: '${environment().authentication.loginEndpoint}${authTenantId}/v2.0'
  clientId: authClientId
  clientSecretSettingName: clientSecretSettingName
}

resource authSettingsV2 'Microsoft.Web/sites/config@2024-04-01' = {
  #checkov:skip=CKV_AZURE_13: authsettingsV2 config child: false positive. checkov evaluates every Microsoft.Web/sites/config child as if it were the v1 'authsettings' config. App Service Authentication is configured with authsettingsV2 in functionapp-auth.bicep.
  #checkov:skip=CKV_AZURE_63: authsettingsV2 config child: false positive. HTTP logging is a site-level App Service (IIS/Kestrel front-end) setting, not a property of this config child; the Function App logs requests to Application Insights.
  #checkov:skip=CKV_AZURE_65: authsettingsV2 config child: false positive. Detailed error pages are a site-level App Service setting, not a property of this config child (and would leak internals if enabled).
  #checkov:skip=CKV_AZURE_66: authsettingsV2 config child: false positive. Failed request tracing is a site-level App Service setting, not a property of this config child; failures are traced in Application Insights.
  #checkov:skip=CKV_AZURE_80: authsettingsV2 config child: false positive. Warden is Python 3.11 on Linux (functionAppConfig.runtime); there is no .NET Framework version to set.
  #checkov:skip=CKV_AZURE_88: authsettingsV2 config child: false positive. Flex Consumption uses no Azure Files content share; code is deployed to a blob container with identity auth.
  #checkov:skip=CKV_AZURE_222: authsettingsV2 config child: false positive. publicNetworkAccess is set on the site resource itself (and suppressed there with its reason).
  parent: site
  name: 'authsettingsV2'
  properties: {
    platform: {
      enabled: true
      runtimeVersion: '~1'
    }
    globalValidation: {
      requireAuthentication: true
      unauthenticatedClientAction: 'RedirectToLoginPage'
      redirectToProvider: 'azureactivedirectory'
      excludedPaths: [
        '/api/health'
        '/runtime/webhooks/eventgrid'
      ]
    }
    httpSettings: {
      requireHttps: true
      routes: {
        apiPrefix: '/.auth'
      }
      forwardProxy: {
        convention: 'NoProxy'
      }
    }
    identityProviders: {
      azureActiveDirectory: {
        enabled: true
        registration: registration
        validation: {
          allowedAudiences: [
            'api://${authClientId}'
            authClientId
          ]
        }
      }
    }
    login: {
      tokenStore: {
        enabled: true
      }
      preserveUrlFragmentsForLogins: true
    }
  }
}
